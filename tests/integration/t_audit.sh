# connrefuse audit: the kernel's view of every failed TCP connect. Real
# oracles in a private network namespace (a closed port; nft DROP with
# tcp_syn_retries lowered: ETIMEDOUT; nft reject with icmp host-unreachable
# and admin-prohibited: EHOSTUNREACH; nft reject with tcp reset: a RST to
# the SYN, ECONNREFUSED; a server that resets before its first byte:
# ECONNRESET), and clients none of which is preloaded: python3, curl, a
# static C client, a Go client (raw system calls), an io_uring client, a
# setuid-root client run by nobody, one in a cgroup of its own. Each gives
# one line with its errno, pid, uid, comm and cgroup; a preloaded python3
# the library's line plus source=kernel; a simulated refusal of the library
# no second (":0") line, nor does a timeout at its drop listener; a ring
# buffer too small for a burst reports what it lost. Scopes: --cgroup (with
# --json), --uid by name, and the "log" rules of -c as a filter.
GOLDEN_SKIP=1 # the auditor sees every failed connect of the machine, other work's too: its shapes vary
. "$(dirname "$0")/lib.sh"
skip_under_sanitizers "the auditor loads a kernel program; nothing the sanitizers check changes"
[ "$(id -u)" = 0 ] || { echo "audit needs root (CAP_BPF, CAP_PERFMON)"; exit 77; }
[ -r /sys/kernel/btf/vmlinux ] || { echo "this kernel has no BTF (/sys/kernel/btf/vmlinux)"; exit 77; }
command -v nft >/dev/null && command -v unshare >/dev/null && command -v setpriv >/dev/null ||
	{ echo "nft, unshare or setpriv missing"; exit 77; }
CGROOT=$(awk '$9 == "cgroup2" { print $5; exit }' /proc/self/mountinfo)
[ -n "$CGROOT" ] || { echo "no cgroup2 file system mounted"; exit 77; }
# Probe: can a kernel program be loaded here at all (a container without
# CAP_BPF cannot)?
"$CLI" audit > "$T/probe.out" 2> "$T/probe.err" &
probe=$!
echo $probe >> "$T/pids"
wait_for grep -q 'watching\|cannot' "$T/probe.err" || fail "audit did not start: $(cat "$T/probe.err")"
if grep -q 'cannot' "$T/probe.err"; then echo "audit cannot load here: $(cat "$T/probe.err")"; exit 77; fi
kill $probe; wait $probe 2>/dev/null
# Without CAP_NET_ADMIN the UDP programs cannot load: said, and TCP is
# followed all the same.
setpriv --bounding-set=-net_admin --inh-caps=-net_admin "$CLI" audit > /dev/null 2> "$T/nonet.err" &
nonet=$!
echo $nonet >> "$T/pids"
wait_for grep -q 'watching' "$T/nonet.err" || fail "audit without CAP_NET_ADMIN did not start: $(cat "$T/nonet.err")"
kill $nonet; wait $nonet 2>/dev/null
expect_grep '^connrefuse: audit: note: ICMP errors on UDP sockets are not followed: that needs CAP_NET_ADMIN' "$T/nonet.err" \
	"without CAP_NET_ADMIN: a note that UDP is not followed"
expect_grep '^connrefuse: audit: watching every failed TCP connect \(' "$T/nonet.err" "and TCP is"

# A cgroup of this test's own: its clients run there; the auditors that
# count exactly watch only it (other work on the machine fails connects too).
CG=/connrefuse-test.$$
mkdir "$CGROOT$CG" && echo "$CGROOT$CG" >> "$T/remove"
in_cgroup() { sh -c 'echo $$ > "$0/cgroup.procs" && exec "$@"' "$CGROOT$CG" "$@"; }

# start_audit NAME ARGS...: an auditor writing $T/NAME.out, once it watches.
start_audit() {
	name=$1; shift
	"$CLI" audit "$@" > "$T/$name.out" 2> "$T/$name.err" &
	echo $! > "$T/$name.pid"; echo $! >> "$T/pids"
	wait_for grep -q watching "$T/$name.err" || fail "audit $name did not start: $(cat "$T/$name.err")"
}
stop_audit() {
	kill -TERM "$(cat "$T/$1.pid")"
	wait_for sh -c "! kill -0 $(cat "$T/$1.pid") 2>/dev/null" || fail "audit $1 did not stop on SIGTERM"
}

# A line may start with its time and machine (the file sink's).
H='^(time=[^ ]+ machine=[^ ]+ )?'
# The machine-wide one with no rate limit: other work on the machine (a
# test suite running beside this one) may fail connects by the hundred.
printf 'version = 1;\nlog: { syslog = false; rate = 0; };\n' > "$T/all.cfg"
start_audit all -c "$T/all.cfg"
start_audit scoped --cgroup "$CG" --json
# --uid by name; the rules of -c with action "log" as a filter: one port,
# and one process name (the kernel knows no host names).
start_audit nobody --uid nobody
printf 'version = 1;\nrules = ( { name = "watch-hostun"; dst = "127.0.0.0/8"; port = 7002; action = "log"; },\n  { name = "watch-curl"; process = "curl"; port = 7000; action = "log"; } );\n' > "$T/filter.cfg"
start_audit filtered -c "$T/filter.cfg"

# The clients. Go: net.Dial makes raw system calls.
(cd "$HERE/seccomp" && GOCACHE=${GOCACHE:-/tmp/connrefuse-gocache} GOFLAGS=-mod=mod \
	go build -o "$T/goclient" goclient.go) || fail "go build"
dir=$(mktemp -d /var/tmp/connrefuse-test-audit.XXXXXX)
echo "$dir" >> "$T/remove"
chmod 755 "$dir"
cp "$HELPERS/static-client" "$dir/suidclient" && chown root:root "$dir/suidclient" && chmod 4755 "$dir/suidclient"
mkdir "$dir/pids" && chmod 1777 "$dir/pids" # (nobody writes its pid there)
# go_client PORT: the Go client dials 127.0.0.1 only; so do the others here.
client() { # NAME PORT: runs client NAME, writing its pid to $T/pid.NAME.PORT
	n=$1 p=$2 pf=$T/pid.$1.$2
	[ $n != suidclient ] || pf=$dir/pids/pid.$1.$2
	case $n in
	python3) sh -c 'echo $$ > "$0"; exec "$1" -c "import socket,sys
try: socket.create_connection((\"127.0.0.1\", int(sys.argv[1])))
except OSError as e: print(e.errno)" "$2"' "$pf" "$PY" "$p" ;;
	curl) sh -c 'echo $$ > "$0"; exec curl -s -o /dev/null "http://127.0.0.1:$1/"' "$pf" "$p" ;;
	static-client) sh -c 'echo $$ > "$0"; exec "$1" "$2"' "$pf" "$HELPERS/static-client" "$p" ;;
	goclient) sh -c 'echo $$ > "$0"; exec "$1" "$2"' "$pf" "$T/goclient" "$p" ;;
	uringconnect) sh -c 'echo $$ > "$0"; exec "$1" 127.0.0.1 "$2"' "$pf" "$HELPERS/uringconnect" "$p" ;;
	suidclient) setpriv --reuid=65534 --regid=65534 --clear-groups sh -c 'echo $$ > "$0"; exec "$1" "$2"' "$pf" "$dir/suidclient" "$p" ;;
	esac
}
CLIENTS="python3 curl static-client goclient uringconnect suidclient"

# The oracles, in a private network namespace whose loopback is up:
CLOSED=7000 DROP=7001 HOSTUN=7002 ADMIN=7003 RST=7004 RESET=7005 UCLOSED=7010 UADMIN=7011 SLOW=7020
cat > "$T/oracles.nft" <<EOF2
table inet audit_test {
	chain out {
		type filter hook output priority 0; policy accept;
$(audit_oracle_rules)
		udp dport $UADMIN reject with icmp type admin-prohibited
	}
	chain in {
		type filter hook input priority 0; policy accept;
		tcp dport $SLOW drop
	}
}
EOF2
cat > "$T/netns.sh" <<'EOF2'
set -e
ip link set lo up
sysctl -qw net.ipv4.tcp_syn_retries=1
nft -f "$T/oracles.nft"
# A server that accepts, then resets before sending a byte.
"$PY" "$HERE/resetserver.py" $RESET > "$T/resetd.out" &
echo $! > "$T/resetd.pid"
i=0; until grep -q ready "$T/resetd.out" 2>/dev/null; do i=$((i+1)); [ $i -lt 400 ] || exit 1; sleep 0.025; done
set +e
# Timeouts take seconds: all at once, in the background.
bg=
for c in $CLIENTS; do client $c $DROP > "$T/res.$c.$DROP" & bg="$bg $!"; done
for port in $CLOSED $HOSTUN $ADMIN $RST; do
	for c in $CLIENTS; do client $c $port > "$T/res.$c.$port"; done
done
# The server's reset: clients that wait for its answer (curl sends a request
# and reads; python reads).
sh -c 'echo $$ > "$0"; exec curl -s -o /dev/null "http://127.0.0.1:$1/"' "$T/pid.curl.$RESET" $RESET
sh -c 'echo $$ > "$0"; exec "$1" -c "import socket,sys
s = socket.create_connection((\"127.0.0.1\", int(sys.argv[1])))
try: s.recv(1)
except OSError as e: print(e.errno)" "$2"' "$T/pid.python3.$RESET" "$PY" $RESET
# UDP: a connected socket's send answered by ICMP port unreachable (a
# closed port) and admin-prohibited (made on this host: the send itself
# fails with EPERM first); python3 and Go (raw system calls).
for port in $UCLOSED $UADMIN; do
	sh -c 'echo $$ > "$0"; exec "$1" -c "import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect((\"127.0.0.1\", int(sys.argv[1])))
try: s.send(b\"x\")
except OSError as e: print(e.errno, end=\" \")
try: s.recv(1)
except OSError as e: print(e.errno)" "$2"' "$T/pid.python3.$port" "$PY" $port > "$T/res.python3.$port"
	sh -c 'echo $$ > "$0"; NET=udp exec "$1" "$2"' "$T/pid.goclient.$port" "$T/goclient" $port > "$T/res.goclient.$port"
done
# In the cgroup of the test: a container's view, in small.
in_cgroup sh -c 'echo $$ > "$0"; exec "$1" "$2"' "$T/pid.cgclient.$CLOSED" "$HELPERS/static-client" $CLOSED > /dev/null
# The library together with the auditor: a drop held by its listener
# until the SYN retries are spent (3 s here).
printf 'version = 1;\nrules = ( { name = "hang"; dst = "127.0.0.1"; port = %s; action = "drop"; } );\nlog: { syslog = false; file = "%s"; };\n' \
	$CLOSED "$T/libdrop.log" > "$T/drop.cfg"
(sh -c 'echo $$ > "$0"; exec env LD_PRELOAD="$1" CONNREFUSE_CONFIG="$2" "$3" -c "import socket
try: socket.create_connection((\"127.0.0.1\", '$CLOSED'))
except OSError as e: print(e.errno)"' "$T/pid.libdrop.$CLOSED" "$PRELOAD" "$T/drop.cfg" "$PY" > "$T/res.libdrop") &
bg="$bg $!"
wait $bg
kill "$(cat "$T/resetd.pid")"
# A connect in flight before an auditor starts fails (its SYNs dropped on
# the way in, given up after one retry: 3 s): its owner was never kept,
# and the line it cannot make is counted (dropped=).
"$PY" -c 'import socket, sys
s = socket.socket(); s.setsockopt(socket.IPPROTO_TCP, socket.TCP_SYNCNT, 1)
try: s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError as e: print(e.errno)' $SLOW > "$T/res.early" &
early=$!
echo $early > "$T/pid.early"
i=0; until ss -tnH state syn-sent "dport = :$SLOW" | grep -q .; do i=$((i+1)); [ $i -lt 800 ] || exit 1; sleep 0.025; done
"$CLI" audit > "$T/late.out" 2> "$T/late.err" &
late=$!
i=0; until grep -q watching "$T/late.err"; do i=$((i+1)); [ $i -lt 800 ] || exit 1; sleep 0.025; done
wait $early
kill -TERM $late; wait $late
EOF2
export T PY HERE HELPERS CLI CLIENTS CLOSED DROP HOSTUN ADMIN RST RESET UCLOSED UADMIN SLOW CG CGROOT PRELOAD dir
# (The namespace's shell gets the two functions from this file.)
sed -n '/^client() {/,/^}/p;/^in_cgroup() /p' "$0" > "$T/funcs.sh"
cat "$T/funcs.sh" "$T/netns.sh" > "$T/netns-full.sh"
unshare -n sh "$T/netns-full.sh" || fail "the network namespace's oracles could not be set up"

# expect_line PID ERRNO UID EUID COMM CGROUP WHAT PORT [PROTO]: exactly one
# line of the auditor for process PID, and it is the library's line with
# these fields.
expect_line() {
	pid=$1 err=$2 uid=$3 euid=$4 comm=$5 cg=$6 what=$7 port=$8 proto=${9:-tcp}
	res=failed; [ "$err" != ECONNREFUSED ] || res=refused
	ids="uid=$uid"; [ "$euid" = "$uid" ] || ids="$ids euid=$euid"
	cgk=; [ -z "$cg" ] || cgk=" cgroup=$cg"
	wait_for grep -q " pid=$pid " "$T/all.out" || { cat "$T/all.out"; fail "$what: no line for pid $pid"; }
	n=$(grep -c " pid=$pid " "$T/all.out")
	[ "$n" = 1 ] || { grep " pid=$pid " "$T/all.out"; fail "$what: $n lines for pid $pid, not one"; }
	expect_grep "${H}result=$res simulated=no source=kernel action=pass pid=$pid $ids comm=$comm$cgk dst=127\\.0\\.0\\.1:$port proto=$proto errno=$err code=[0-9]+ " \
		"$T/all.out" "$what"
}
comm_of() { [ "$1" = python3 ] && echo python3 || echo "$1"; }
for c in $CLIENTS; do
	uid=0 euid=0; [ $c != suidclient ] || uid=65534
	for pe in $CLOSED:ECONNREFUSED $DROP:ETIMEDOUT $HOSTUN:EHOSTUNREACH $ADMIN:EHOSTUNREACH $RST:ECONNREFUSED; do
		port=${pe%%:*} err=${pe#*:}
		pf=$T/pid.$c.$port; [ $c != suidclient ] || pf=$dir/pids/pid.$c.$port
		expect_line "$(cat "$pf")" $err $uid $euid $c "" "$c, port $port: $err" $port
	done
done
for c in curl python3; do
	expect_line "$(cat "$T/pid.$c.$RESET")" ECONNRESET 0 0 $c "" "$c, a server that resets before its first byte" $RESET
done
for c in python3 goclient; do
	expect_line "$(cat "$T/pid.$c.$UCLOSED")" ECONNREFUSED 0 0 $c "" "$c, UDP to a closed port: ECONNREFUSED" $UCLOSED udp
	expect_line "$(cat "$T/pid.$c.$UADMIN")" EHOSTUNREACH 0 0 $c "" "$c, UDP answered by admin-prohibited: EHOSTUNREACH" $UADMIN udp
done
expect_eq "$(cat "$T/res.python3.$UCLOSED") $(cat "$T/res.python3.$UADMIN")" "111 1 113" "the kernel reports those UDP errors to python3 (EPERM: the local reject's own send)"
expect_line "$(cat "$T/pid.cgclient.$CLOSED")" ECONNREFUSED 0 0 static-client "$CG" "a client in a cgroup of its own: its cgroup" $CLOSED

# Connects the auditor could not name the owner of: counted, never silent.
expect_eq "$(cat "$T/res.early")" 110 "a connect in flight before the auditor started times out"
expect_no_grep " pid=$(cat "$T/pid.early") " "$T/late.out" "no line for it: its owner was never kept"
expect_grep "${H}"'result=suppressed count=[0-9]+ dropped=[1-9][0-9]* ' "$T/late.out" "it is counted as a line lost (dropped=)"

# The library's drop, held by its listener until the kernel gave up: the
# library's line says dropped; the auditor adds no ETIMEDOUT to loopback.
expect_eq "$(cat "$T/res.libdrop")" 110 "a preloaded python3 dropped by the library times out (ETIMEDOUT)"
expect_grep "${H}"'result=dropped simulated=yes rule=hang action=drop .*comm=python3 dst=127\.0\.0\.1:7000 ' "$T/libdrop.log" \
	"the library logs its drop"
expect_no_grep " pid=$(cat "$T/pid.libdrop.$CLOSED") " "$T/all.out" "the auditor logs no timeout at the library's drop listener"

# --uid nobody: the setuid client's lines (its real uid), no other.
for port in $CLOSED $DROP $HOSTUN $ADMIN $RST; do
	pid=$(cat "$dir/pids/pid.suidclient.$port")
	wait_for grep -q " pid=$pid " "$T/nobody.out" || { cat "$T/nobody.out"; fail "--uid nobody: no line for the setuid client at port $port"; }
done
expect_eq "$(grep -c 'result=' "$T/nobody.out")" 5 "--uid nobody: the five lines of the client nobody ran"
expect_no_grep 'result=[a-z]+ .* uid=[^6]' "$T/nobody.out" "--uid nobody: no line of another user"
stop_audit nobody
# The filter: the rules' matches only, each naming its rule.
for c in $CLIENTS; do
	pf=$T/pid.$c.$HOSTUN; [ $c != suidclient ] || pf=$dir/pids/pid.$c.$HOSTUN
	wait_for grep -q " pid=$(cat "$pf") " "$T/filtered.out" || { cat "$T/filtered.out"; fail "filter: no line for $c at port $HOSTUN"; }
done
wait_for grep -q " pid=$(cat "$T/pid.curl.$CLOSED") " "$T/filtered.out" || fail "filter: no line for curl at port $CLOSED"
expect_grep "result=failed simulated=no source=kernel rule=watch-hostun action=log pid=$(cat "$T/pid.curl.$HOSTUN") " "$T/filtered.out" \
	"filter: a line names the log rule that matched it"
expect_grep "result=refused simulated=no source=kernel rule=watch-curl action=log pid=$(cat "$T/pid.curl.$CLOSED") " "$T/filtered.out" \
	"filter: a rule on the process name"
expect_eq "$(grep -c 'result=[a-z]* simulated' "$T/filtered.out")" 7 "filter: the six clients at port $HOSTUN and curl at $CLOSED, nothing else"
stop_audit filtered

# --cgroup: only the connects of that cgroup's tasks; --json.
wait_for grep -q "\"pid\":$(cat "$T/pid.cgclient.$CLOSED")," "$T/scoped.out" || { cat "$T/scoped.out"; fail "--cgroup: no line"; }
expect_grep "^\\{(\"time\":\"[^\"]+\",\"machine\":\"[^\"]+\",)?\"result\":\"refused\",\"simulated\":\"no\",\"source\":\"kernel\",\"action\":\"pass\",\"pid\":$(cat "$T/pid.cgclient.$CLOSED"),\"uid\":0,\"comm\":\"static-client\",\"cgroup\":\"$CG\",\"dst\":\"127\\.0\\.0\\.1:$CLOSED\"" \
	"$T/scoped.out" "--cgroup --json: the line of the cgroup's client, as JSON"
expect_eq "$(grep -c "\"result\"" "$T/scoped.out")" 1 "--cgroup: no line of a task outside it"
stop_audit scoped

# A preloaded python3: the library's own line, and the auditor's is the
# same plus source=kernel (with a time and machine, if the file sink
# writes them, left aside).
P=$(closed_port)
printf 'version = 1;\nlog: { syslog = false; file = "%s"; };\n' "$T/lib.log" > "$T/lib.cfg"
for addr in 127.0.0.1 ::1; do
	sh -c 'echo $$ > "$0"; exec env LD_PRELOAD="$1" CONNREFUSE_CONFIG="$2" "$3" -c "import socket, sys
a = sys.argv[1]
try: socket.create_connection((a, int(sys.argv[2])))
except OSError as e: pass" "$4" "$5"' "$T/pid.pre.$addr" "$PRELOAD" "$T/lib.cfg" "$PY" "$addr" "$P"
	pid=$(cat "$T/pid.pre.$addr")
	wait_for grep -q " pid=$pid " "$T/all.out" || fail "preloaded python3 ($addr): no line of the auditor"
	strip() { sed -E 's/^time=[^ ]+ machine=[^ ]+ //; s/ source=kernel//'; }
	lib=$(grep " pid=$pid " "$T/lib.log" | strip)
	aud=$(grep " pid=$pid " "$T/all.out" | strip)
	[ -n "$lib" ] || fail "preloaded python3 ($addr): the library logged nothing"
	expect_eq "$aud" "$lib" "a preloaded python3 ($addr): the auditor's line is the library's, plus source=kernel"
done
golden_note "$T/lib.log"

# The library's simulated refusals go through port 0 on loopback, which the
# kernel really refuses: the auditor adds no line for them. A live port, so
# that a line for it could only be the sink's.
L=$(start_listener)
L6=$(start_listener ::1)
printf 'version = 1;\nrules = ( { name = "no-web"; dst = ["127.0.0.1", "::1"]; action = "refuse"; } );\nlog: { syslog = false; file = "%s"; };\n' "$T/sim.log" > "$T/sim.cfg"
sim() { sh -c 'echo $$ > "$0"; exec env LD_PRELOAD="$PRELOAD" CONNREFUSE_CONFIG="$T/sim.cfg" "$@"' "$@"; }
sim "$T/pid.sim.1" "$PY" -c "import socket
try: socket.create_connection(('127.0.0.1', $L))
except OSError: pass"
sim "$T/pid.sim.2" "$PY" -c "import socket
s = socket.socket(socket.AF_INET6)
try: s.connect(('::ffff:127.0.0.1', $L))
except OSError: pass"
sim "$T/pid.sim.3" "$PY" -c "import socket
try: socket.create_connection(('::1', $L6))
except OSError: pass"
sim "$T/pid.sim.4" curl -s -o /dev/null "http://127.0.0.1:$L/"
for k in 1 2 3 4; do
	pid=$(cat "$T/pid.sim.$k")
	wait_for grep -q "pid=$pid .*simulated=yes\|simulated=yes .*pid=$pid " "$T/sim.log" || fail "simulated refusal $k: no line of the library"
done
# A last real refusal, logged after those: once it is there, the auditor
# has handed over all it saw before.
M=$(closed_port)
client static-client "$M" > /dev/null
wait_for grep -q " pid=$(cat "$T/pid.static-client.$M") " "$T/all.out" || fail "the last refusal was not logged"
for k in 1 2 3 4; do
	expect_no_grep " pid=$(cat "$T/pid.sim.$k") " "$T/all.out" "simulated refusal $k: the library's line only"
done
expect_no_grep 'dst=(127\.0\.0\.1|\[::1\]|\[::ffff:127\.0\.0\.1\]):0 ' "$T/all.out" "no line for port 0 on loopback"
expect_eq "$(grep -c 'simulated=yes' "$T/sim.log")" 4 "the library logs each simulated refusal once"

# A ring buffer too small for a burst: what it lost is counted, never
# silent. The auditor is stopped while 2000 refusals are made in the
# test's cgroup; every one is then logged, suppressed or dropped.
start_audit tiny --cgroup "$CG" --ring-size 4096
kill -STOP "$(cat "$T/tiny.pid")"
P=$(closed_port)
in_cgroup "$HELPERS/connloop" 127.0.0.1 "$P" 2000 > "$T/burst" || fail "connloop"
expect_grep '^refused=2000 ' "$T/burst" "2000 refusals made"
kill -CONT "$(cat "$T/tiny.pid")"
wait_for grep -q 'dropped=[1-9]' "$T/tiny.out" || { cat "$T/tiny.out"; fail "the lost records were not reported"; }
stop_audit tiny
expect_grep "${H}"'result=suppressed count=[0-9]+ dropped=[1-9][0-9]* pid=[0-9]+ uid=0 comm=connrefuse' "$T/tiny.out" \
	"the ring buffer's losses are reported in a summary line (dropped=)"
total=$(awk -v port=":$P " '
	/result=refused/ && index($0, port) { n++ }
	/result=suppressed/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); if (kv[1] == "count" || kv[1] == "dropped") n += kv[2] } }
	END { print n + 0 }' "$T/tiny.out")
expect_eq "$total" 2000 "every refusal of the burst is logged, suppressed or counted as dropped"

stop_audit all
# report reads the auditor's lines.
"$CLI" report "$T/all.out" > "$T/report" || fail "report"
expect_grep 'EHOSTUNREACH' "$T/report" "report reads the auditor's lines"
