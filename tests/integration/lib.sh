# Sourced by every integration test: a temporary folder, loopback listeners,
# and checks. Tests use loopback only and stop only what they started.
set -u
: "${CR_BUILD:?run through tests/integration/run.sh}"
# A test that sets NETNS=1 before it sources this file runs in a private
# network namespace (unshare -n: loopback only, where tc may act): the
# script starts again there, before its folder is made. Its lo has a real
# link's MTU, not loopback's 64 KiB packets: tbf's bucket then holds
# several, as on an ethernet.
if [ "${NETNS:-}" = 1 ] && [ "${CR_IN_NETNS:-}" != 1 ]; then
	[ "$(id -u)" = 0 ] || { echo "needs root for a network namespace"; exit 77; }
	for c in tc ip unshare; do command -v $c > /dev/null || { echo "$c is not installed"; exit 77; }; done
	CR_IN_NETNS=1 exec unshare -n sh "$0"
fi
if [ "${NETNS:-}" = 1 ]; then
	ip link set lo up
	ip link set lo mtu 1500
fi
HERE=$(cd "$(dirname "$0")" && pwd)
LIB=$CR_BUILD/libconnrefuse.so
PRELOAD=$LIB
# Under the sanitizers (make check-asan) the library needs the ASan runtime
# loaded before it in every process: it is preloaded everywhere, and any
# report is written to $CR_SANITIZE_LOGS, which run.sh checks at the end.
# sanitizer_options DIR: where the runtimes write their reports (a path
# without spaces: the runtimes split their options at them).
sanitizer_options() {
	if [ "${CR_SANITIZE:-}" = tsan ]; then
		export TSAN_OPTIONS="halt_on_error=1:log_path=$1/tsan"
	elif [ -n "${CR_SANITIZE:-}" ]; then
		export ASAN_OPTIONS="verify_asan_link_order=0:detect_leaks=0:log_path=$1/asan"
		export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:log_path=$1/ubsan"
	fi
}
# Only programs built with -fsanitize=thread (our helpers) are preloaded
# under make check-tsan: they carry the runtime the library needs.
if [ -n "${CR_SANITIZE:-}" ] && [ "$CR_SANITIZE" != tsan ]; then
	ASAN_LIBS="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
	PRELOAD="$ASAN_LIBS:$LIB"
	export LD_PRELOAD="$ASAN_LIBS"
fi
# (A path with a space gets its alias below, once the test's folder exists:
# until then the runtimes keep their defaults.)
case "${CR_SANITIZE:-}:${CR_SANITIZE_LOGS:-}" in
:*|*[[:space:]]*) ;;
*) sanitizer_options "$CR_SANITIZE_LOGS" ;;
esac
# have_curl: curl cannot run under the ASan runtime here (it hangs in
# setlocale, with or without connrefuse), so the sanitizer run leaves it out.
have_curl() {
	[ -z "${CR_SANITIZE:-}" ] || { echo "note: curl is not run under the sanitizers"; return 1; }
}
# skip_under_sanitizers REASON: for tests that measure what the sanitizers change.
skip_under_sanitizers() {
	[ -z "${CR_SANITIZE:-}" ] || { echo "$1"; exit 77; }
}
CLI=$CR_BUILD/connrefuse
HELPERS=$CR_BUILD/tests
PY=/usr/bin/python3
T=$(mktemp -d /tmp/connrefuse-test.XXXXXX)
# The shared schedule states (scope "file") of a test go in its own folder,
# removed with it, not in /dev/shm.
mkdir -m 700 "$T/xdg"
export XDG_RUNTIME_DIR=$T/xdg
# A checkout anywhere (a folder name with a space, a colon): the tests reach
# the build and their own folder through aliases without either, since the
# loader splits LD_PRELOAD at spaces and colons and scripts split words.
case "$CR_BUILD$HERE" in
*[[:space:]:]*)
	ln -s "$CR_BUILD" "$T/.build" && CR_BUILD=$T/.build
	ln -s "$(cd "$HERE/../.." && pwd)" "$T/.top" && HERE=$T/.top/tests/integration
	LIB=$CR_BUILD/libconnrefuse.so
	PRELOAD=${ASAN_LIBS:+$ASAN_LIBS:}$LIB
	CLI=$CR_BUILD/connrefuse
	HELPERS=$CR_BUILD/tests
	if [ -n "${CR_SANITIZE:-}" ]; then
		ln -s "$CR_SANITIZE_LOGS" "$T/.sanitizer-logs" && sanitizer_options "$T/.sanitizer-logs"
	fi ;;
esac
PIDS=""
# Background processes a test starts: their PIDs in $PIDS, or (for those
# started inside a command substitution, a subshell) in $T/pids.
# Paths outside $T a test made (a folder in /var/tmp, a cgroup): in
# $T/remove, removed at the end even when the test fails.
cleanup() {
	for p in $PIDS $(cat "$T/pids" 2>/dev/null); do kill "$p" 2>/dev/null; done
	for p in $PIDS; do wait "$p" 2>/dev/null; done
	[ ! -f "$T/remove" ] || while IFS= read -r d; do rmdir "$d" 2> /dev/null || rm -rf "$d"; done < "$T/remove"
	[ -z "${CR_GOLDEN_LINES:-}" ] || [ -n "${GOLDEN_SKIP:-}" ] || golden_lines > "$CR_GOLDEN_LINES/$(basename "$0" .sh).lines"
	rm -rf "$T"
}
# golden_lines: the shapes of the log lines and messages this test made (every
# number masked, each shape once), for the golden gate (run.sh compares them
# with tests/golden/lines/): those of every file a check read (golden_note),
# and those left in the test's folder at the end. A test whose lines depend on
# timing (t_stress) sets GOLDEN_SKIP=1. A shape starts at result= or at the
# message: the time= and machine= a log.file line starts with are left out.
golden_shapes() {
	grep -ahoE '(result=[a-z-]+ |config (error|reloaded): ).*' "$@" 2>/dev/null |
		sed -E "s#$T#T#g; s#/tmp/connrefuse-[A-Za-z0-9.-]+#TMP#g; s/[0-9]+/N/g"
}
golden_note() {
	[ -z "${CR_GOLDEN_LINES:-}" ] || [ ! -f "$1" ] || golden_shapes "$1" >> "$T/.golden-notes"
}
golden_lines() {
	find "$T" -type f -exec grep -lqE 'result=|config (error|reloaded)' {} \; -print 2>/dev/null |
		while IFS= read -r f; do golden_shapes "$f"; done | LC_ALL=C sort -u
}
trap cleanup EXIT

# What each line of a log.file starts with (SPEC.md, Log line), as a
# pattern for grep and sed, basic or extended: "^${STAMP}result=refused ...".
STAMP='time=[^ ]* machine=[^ ]* '

fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

# retry_timing COMMAND...: COMMAND measures a time against a bare run made
# in the same moment and returns false when it is out of bounds. A loaded
# machine can slow one try; a genuine fault fails all three.
retry_timing() {
	for try in 1 2 3; do
		"$@" && return 0
		echo "(a timing out of bounds, try $try of 3)"
	done
	return 1
}

# wait_for COMMAND...: polls a condition for up to 10 s.
wait_for() {
	i=0
	until "$@"; do
		i=$((i + 1))
		[ $i -lt 400 ] || return 1
		sleep 0.025
	done
}

# start_listener [ADDR]: prints the port of a new HTTP listener.
start_listener() {
	f=$T/port.$$.$(date +%s%N)
	$PY "$HERE/listener.py" "$f" "${1:-127.0.0.1}" >/dev/null 2>&1 &
	echo $! >> "$T/pids"
	wait_for test -s "$f" || fail "listener did not start"
	cat "$f"
}

# closed_port: a loopback port nothing listens on (bound, then released).
closed_port() {
	$PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# public_lib_dir: prints a folder in /var/tmp that every user can read (the
# checkout may be in root's 0700 home) holding a copy of the library;
# removed at the end.
public_lib_dir() {
	d=$(mktemp -d /var/tmp/connrefuse-test-lib.XXXXXX)
	echo "$d" >> "$T/remove"
	chmod 755 "$d"
	cp "$LIB" "$d/libconnrefuse.so"
	chmod 755 "$d/libconnrefuse.so"
	echo "$d"
}

# config NAME TEXT: writes a config file, prints its path.
config() {
	printf '%s\n' "$2" > "$T/$1"
	echo "$T/$1"
}

expect_eq() { [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"; ok "$3"; }
expect_grep() { golden_note "$2"; grep -qE -- "$1" "$2" || { echo "--- $2:"; cat "$2"; fail "$3: no line matching $1"; }; ok "$3"; }
expect_no_grep() { golden_note "$2"; ! grep -qE -- "$1" "$2" || { echo "--- $2:"; cat "$2"; fail "$3: a line matches $1"; }; ok "$3"; }

# audit_oracle_rules: nft output-chain rules of connrefuse audit's oracles
# (t_audit, x_podman): $DROP dropped; $HOSTUN and $ADMIN rejected with ICMP
# host-unreachable and admin-prohibited; $RST's SYN answered by a RST.
audit_oracle_rules() {
	printf '\t\ttcp dport %s drop\n' "$DROP"
	printf '\t\ttcp dport %s reject with icmp type host-unreachable\n' "$HOSTUN"
	printf '\t\ttcp dport %s reject with icmp type admin-prohibited\n' "$ADMIN"
	printf '\t\ttcp dport %s tcp flags syn reject with tcp reset\n' "$RST"
}

# ---- faults after connect (t_relay, t_relay_seccomp, t_relay_clients) ----

# fault_server [--proto PROTO] MODE [N]: the port of a new faultserver.py.
fault_server() {
	f=$(mktemp "$T/server.XXXXXX")
	$PY "$HERE/faultserver.py" "$f" "$@" > /dev/null 2>&1 &
	echo $! >> "$T/pids"
	wait_for test -s "$f" || fail "faultserver $* did not start"
	cat "$f"
}

# fault_rules NAME ACTION KEYS [PORT]: a config whose one rule makes ACTION
# on PORT (default GOOD).
fault_rules() {
	config "$1.cfg" "version = 1; log: { syslog = false; file = \"$T/$1.log\"; };
rules = ( { name = \"$1\"; dst = \"127.0.0.1\"; port = ${4:-$GOOD}; action = \"$2\"; $3 } );"
}

# fault_servers PREFIX [--proto PROTO]: sets PREFIX{GOOD,RESET,CLOSE,MUTE}
# to the ports of four faultserver.py: one that behaves, one that resets
# and one that closes after N bytes, one that neither reads nor answers.
fault_servers() {
	prefix=$1
	shift
	for m in GOOD:normal RESET:reset CLOSE:close MUTE:mute; do
		eval "$prefix${m%%:*}=\$(fault_server \"\$@\" ${m#*:} \$N)"
	done
}

# fault_setup [PROTO...]: the oracles, each a faultserver.py (GOOD behaves;
# RESET and CLOSE after N bytes; MUTE neither reads nor answers; HOLD
# answers and keeps the connection; LATE_RESET and LATE_CLOSE answer, then
# MS ms later), and the configs of the same faults made by a rule on GOOD.
# Each PROTO (faultserver.py --proto) adds its own four of the first kinds,
# named after it (redis: REDIS_GOOD, ...), its GOOD in the rules' ports.
fault_setup() {
	N=1000 MS=400
	fault_servers ""
	ports=$GOOD
	for proto in "$@"; do
		p=$(echo "$proto" | tr a-z A-Z)_
		fault_servers "$p" --proto "$proto"
		eval "ports=\"\$ports, \$${p}GOOD\""
	done
	HOLD=$(fault_server hold)
	LATE_RESET=$(fault_server late-reset $MS)
	LATE_CLOSE=$(fault_server late-close $MS)
	CFG_RESET=$(fault_rules cut reset "after_bytes = $N; direction = \"in\";" "[$ports]")
	CFG_CLOSE=$(fault_rules eof close "after_bytes = $N; direction = \"in\";" "[$ports]")
	CFG_STALL_IN=$(fault_rules hush stall "direction = \"in\";" "[$ports]")
	CFG_STALL_OUT=$(fault_rules clog stall "direction = \"out\";" "[$ports]")
}

# same_fault NAME ORACLE_PORT CONFIG COMMAND: COMMAND (with $PORT) against
# the oracle, plain, then against $TARGET (default GOOD) under the rule
# (connrefuse run $FAULT_RUN, e.g. --seccomp): the same output and exit
# status, ports masked. With TIMED=1, elapsed times within 20% as well
# (three tries: a loaded machine can slow one); a client that times itself
# prints "elapsed_ms=N", compared instead. With WHOLE_SECONDS=1, each run
# starts just after a second begins: for clients whose timeout counts
# whole seconds of time() (libpq's connect_timeout, redis-cli's pipe
# timeout), which would otherwise end anywhere in a second's span.
same_fault() {
	name=$1
	shift
	if [ "${TIMED:-}" = 1 ]; then
		retry_timing same_fault_once "$@" || fail "$name: $rule_ms ms under the rule, $oracle_ms ms against the real server (three tries)"
		ok "$name: $(head -n 1 "$T/rule.n" | cut -c1-80) ($(tail -n 1 "$T/rule.n")) in $rule_ms ms, the real server's in $oracle_ms ms"
	else
		same_fault_once "$@" || true
		ok "$name: $(head -n 1 "$T/rule.n" | cut -c1-90) ($(tail -n 1 "$T/rule.n"))"
	fi
}
# same_fault_once ORACLE_PORT CONFIG COMMAND: one try of same_fault; false
# when only the times differ.
same_fault_once() {
	oracle=$1 cfg=$2 target=${TARGET:-$GOOD}
	shift 2
	fault_second
	s=$(date +%s%N); PORT=$oracle sh -c "$*" > "$T/oracle" 2>&1; echo "exit=$?" >> "$T/oracle"
	oracle_ms=$(( ($(date +%s%N) - s) / 1000000 ))
	fault_second
	s=$(date +%s%N); PORT=$target "$CLI" run ${FAULT_RUN:-} -c "$cfg" -- sh -c "$*" > "$T/rule" 2>&1; echo "exit=$?" >> "$T/rule"
	rule_ms=$(( ($(date +%s%N) - s) / 1000000 ))
	# A client that broke breaks alike both ways: not a pass.
	! grep -qE '^(Traceback|SyntaxError|Exception in thread)|No such file|: not found|Could not find' "$T/oracle" || { cat "$T/oracle"; fail "$name: the client failed to run"; }
	oracle_ms=$(sed -n 's/^elapsed_ms=//p' "$T/oracle" | grep . || echo $oracle_ms)
	rule_ms=$(sed -n 's/^elapsed_ms=//p' "$T/rule" | grep . || echo $rule_ms)
	for f in oracle rule; do
		sed -E "/^elapsed_ms=/d; s/\\b($oracle|$target)\\b/PORT/g; s/[0-9]+ (ms|milliseconds)/N \1/g" "$T/$f" > "$T/$f.n"
	done
	cmp -s "$T/oracle.n" "$T/rule.n" || { diff "$T/oracle.n" "$T/rule.n"; fail "$name: the rule's output differs from the real server's"; }
	d=$((rule_ms - oracle_ms)); [ $d -lt 0 ] && d=$((-d))
	[ $((d * 5)) -le $((oracle_ms + 250)) ]
}
# fault_second: with WHOLE_SECONDS=1, returns once the next second has
# begun (a wait on the clock, for same_fault_once).
fault_second() {
	[ "${WHOLE_SECONDS:-}" = 1 ] || return 0
	ns=$(date +%N | sed 's/^0*//')
	sleep "0.$(printf '%09d' $((999999999 - ${ns:-0})))"
}

# same_refusal CONFIG PORT COMMAND...: each COMMAND (with $PORT) against
# PORT, where nothing listens, plain and under CONFIG's fault rule
# (connrefuse run $FAULT_RUN): refused alike, the relay connecting to the
# destination first.
same_refusal() {
	cfg=$1 dead=$2
	shift 2
	for client in "$@"; do
		PORT=$dead sh -c "$client" > "$T/dead.oracle" 2>&1; echo "exit=$?" >> "$T/dead.oracle"
		PORT=$dead "$CLI" run ${FAULT_RUN:-} -c "$cfg" -- sh -c "$client" > "$T/dead.rule" 2>&1; echo "exit=$?" >> "$T/dead.rule"
		sed -Ei 's/[0-9]+ ms/N ms/g' "$T/dead.oracle" "$T/dead.rule"
		cmp -s "$T/dead.oracle" "$T/dead.rule" || { diff "$T/dead.oracle" "$T/dead.rule"; fail "a refusing destination under a reset rule: the program must be refused as without it"; }
	done
	ok "a destination that refuses: the program is refused as without the rule ($(head -n 1 "$T/dead.rule"))"
}

# ---- shaping (t_relay_shape, t_relay_shape_clients) ----

# shape_rules NAME KEYS PORT: a config whose one rule passes PORT shaped by
# KEYS, logged at level all in $T/NAME.log.
shape_rules() {
	config "$1.cfg" "version = 1; log: { syslog = false; file = \"$T/$1.log\"; level = \"all\"; };
rules = ( { name = \"$1\"; dst = \"127.0.0.1\"; port = $3; action = \"pass\"; $2 } );"
}

# shaped CONFIG COMMAND: COMMAND under CONFIG's rule: in connrefuse run
# $RUN_FLAGS (e.g. --seccomp); with SHAPED_BY=service, the library
# preloaded by hand instead, for the relay service CONFIG names.
shaped() {
	if [ "${SHAPED_BY:-}" = service ]; then
		CONNREFUSE_CONFIG=$1 LD_PRELOAD=$PRELOAD sh -c "$2"
	else
		"$CLI" run ${RUN_FLAGS:-} -c "$1" -- sh -c "$2"
	fi
}

# ms FILE: the time a client measured (its line ms=N), taken out of FILE.
ms() {
	sed -n 's/^ms=//p' "$1"
	sed -i '/^ms=/d' "$1"
}

# within A B: A is within 20% of B (and 30 ms: a poll's and a scheduler's grain).
within() {
	d=$(($1 - $2)); [ $d -lt 0 ] && d=$((-d))
	[ $((d * 5)) -le $(($2 + 150)) ]
}

# shape_ran NAME FILE...: fails when a client did not run at all (both
# runs would fail alike, and compare equal).
shape_ran() {
	name=$1
	shift
	! grep -qE '^(Traceback|SyntaxError|Exception in thread|panic:)|No such file|: not found|Could not find' "$@" || { cat "$@"; fail "$name: the client failed to run"; }
}

# netem_oracle L: NETEM, the tc command of a netem delay of L ms on lo, where
# this kernel has netem (sch_netem); empty otherwise, latency then held to
# the arithmetic. Says which. Under make check-netem (CR_NEED_NETEM=1, a
# kernel that has it, booted in qemu) no netem is a failure, not a fallback.
netem_oracle() {
	NETEM="tc qdisc add dev lo root netem delay ${1}ms"
	if err=$(sh -c "$NETEM" 2>&1); then
		tc qdisc del dev lo root
		echo "oracle: latency against $NETEM"
	else
		[ "${CR_NEED_NETEM:-}" != 1 ] || fail "make check-netem: tc could not set netem up ($NETEM: $err)"
		NETEM=""
		echo "oracle: latency against the arithmetic, the direct time plus the latency (this kernel has no netem, sch_netem)"
	fi
}
# latency_only: true when only the latency checks run (CR_SHAPE_PART=latency:
# make check-netem's guest, where the rest would only be slower).
latency_only() { [ "${CR_SHAPE_PART:-}" = latency ]; }
# versus NAME ORACLE CONFIG COMMAND: COMMAND (PORT set by the caller's
# command) run under ORACLE (a shell command that sets tc up, and tc
# removed after; $oracle_what names it), then shaped by CONFIG's rule: the
# same output, the times within 20%, three tries.
versus() {
	name=$1
	retry_timing versus_once "$@" ||
		fail "$name: $rule_ms ms under the rule, $oracle_ms ms under $oracle_what (three tries)"
	ok "$name: $(head -n 1 "$T/rule" | cut -c1-60): $rule_ms ms under the rule, $oracle_ms ms under $oracle_what"
}
versus_once() {
	oracle=$2 cfg=$3 cmd=$4
	sh -c "$oracle" || fail "$name: tc could not set the oracle up: $oracle"
	sh -c "$cmd" > "$T/oracle" 2>&1
	echo "exit=$?" >> "$T/oracle"
	tc qdisc del dev lo root 2> /dev/null
	shaped "$cfg" "$cmd" > "$T/rule" 2>&1
	echo "exit=$?" >> "$T/rule"
	shape_ran "$name" "$T/oracle" "$T/rule"
	oracle_ms=$(ms "$T/oracle") rule_ms=$(ms "$T/rule")
	cmp -s "$T/oracle" "$T/rule" || { diff "$T/oracle" "$T/rule"; fail "$name: the rule's output differs from the oracle's"; }
	within "$rule_ms" "$oracle_ms"
}

# arith NAME KEYS PORT ADDED COMMAND: COMMAND's time shaped by a rule of
# KEYS on PORT is its direct time plus ADDED ms, within 20%, three tries
# (the oracle where the kernel has no netem, or no qdisc tells the ways
# apart). arith_cfg NAME CONFIG ADDED COMMAND: the same with a config.
arith() {
	arith_cfg "$1" "$(shape_rules slow "$2" "$3")" "$4" "$5"
}
arith_cfg() {
	name=$1 cfg=$2 added=$3 cmd=$4
	retry_timing arith_once || fail "$name: $rule_ms ms under the rule, $direct_ms ms direct, $added ms to add (three tries)"
	ok "$name: $(head -n 1 "$T/rule" | cut -c1-50): $rule_ms ms under the rule, $direct_ms ms direct + $added ms"
}
arith_once() {
	sh -c "$cmd" > "$T/direct" 2>&1
	echo "exit=$?" >> "$T/direct"
	shaped "$cfg" "$cmd" > "$T/rule" 2>&1
	echo "exit=$?" >> "$T/rule"
	shape_ran "$name" "$T/direct" "$T/rule"
	direct_ms=$(ms "$T/direct") rule_ms=$(ms "$T/rule")
	cmp -s "$T/direct" "$T/rule" || { diff "$T/direct" "$T/rule"; fail "$name: the output differs"; }
	within "$rule_ms" $((direct_ms + added))
}

# go_build FILE: builds tests/integration/seccomp/FILE offline (the
# standard library only, the cache in the build folder) into
# $T/go/NAME, NAME the file's without .go.
go_build() {
	mkdir -p "$T/go"
	(cd "$HERE/seccomp" && GOFLAGS=-mod=mod GOPROXY=off GOTOOLCHAIN=local CGO_ENABLED=0 \
		GOCACHE=$CR_BUILD/go-cache GOPATH=$T/go/path go build -o "$T/go/${1%.go}" "$1") || fail "go build $1"
}
