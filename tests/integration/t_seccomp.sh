# run --seccomp: programs the preload library cannot see (a static binary,
# raw system calls, Go's net package, and the children a shell starts) are
# ruled by destination through seccomp user notification, with the same
# fidelity: a blocking refusal is -1/ECONNREFUSED; a non-blocking one is
# EINPROGRESS, then POLLOUT|POLLERR and SO_ERROR = ECONNREFUSED; the log
# line has the spec's keys in order with the program's pid and comm; real
# refusals are audited; exit statuses pass through.
. "$(dirname "$0")/lib.sh"
STATIC=$HELPERS/static-client
if ! out=$("$CLI" run --seccomp -- true 2>&1); then
	echo "seccomp user notification unavailable here: $out"
	exit 77
fi
P=$(start_listener)    # refused by the rule
Q=$(start_listener)    # passes
C=$(closed_port)       # really refused
log=$T/seccomp.log
cfg=$(config rules.cfg "version = 1;
log: { syslog = false; file = \"$log\"; };
rules = ( { name = \"db\"; dst = \"127.0.0.1\"; port = $P; action = \"refuse\"; },
          { name = \"slow\"; dst = \"127.0.0.1\"; port = $C; action = \"fail\"; errno = \"ETIMEDOUT\"; after = 1; } );")

out=$("$CLI" run --seccomp --refuse "127.0.0.1:$P" -- "$STATIC" "$P" "$Q")
expect_eq "$(echo $out)" "$P refused $Q connected" "a static client: refused by the rule, and through to the other port"
# The same binary is not seen by the preload library at all.
out=$(CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD "$STATIC" "$P" "$Q")
expect_eq "$(echo $out)" "$P connected $Q connected" "(preloaded instead, the static client is not seen)"

out=$("$CLI" run --seccomp --refuse "127.0.0.1:$P" -- "$STATIC" raw "$P" "$Q")
expect_eq "$(echo $out)" "$P refused $Q connected" "raw syscall(SYS_connect): the same result"

out=$("$CLI" run --seccomp --refuse "127.0.0.1:$P" -- sh -c "\"$STATIC\" $P $Q; true")
expect_eq "$(echo $out)" "$P refused $Q connected" "a static client started by a shell (a grandchild): the same result"

# A vfork() child connects in its parent's memory, then becomes a program
# of its own: what the supervisor reads for it must follow.
out=$("$CLI" run --seccomp --refuse "127.0.0.1:$P" -- "$STATIC" vfork "$P" "$Q")
expect_eq "$(echo $out)" "$P refused $Q connected" "a vfork() child, then the program it executes: each read in its own memory"

# A thread other than the first executes another program: the rules see
# the new program at once (here a rule on the process name).
cp "$STATIC" "$T/other-client"
pcfg=$(config process.cfg "version = 1;
log: { syslog = false; };
rules = ( { name = \"only-static\"; process = \"static-client\"; port = $P; action = \"refuse\"; } );")
out=$("$CLI" run --seccomp -c "$pcfg" -- "$STATIC" "$P" thread-exec "$T/other-client" "$P")
expect_eq "$(echo $out)" "$P refused $P connected" "an exec from a second thread: the new program is ruled as itself at once"

# A program that executes itself again starts its counters again, as under
# the preload (where the new image loads the library afresh).
ecfg=$(config reexec.cfg "version = 1;
log: { syslog = false; };
rules = ( { name = \"once\"; port = $P; action = \"refuse\"; first = 1; scope = \"process\"; } );")
out=$("$CLI" run --seccomp -c "$ecfg" -- "$STATIC" "$P" "$P" exec "$STATIC" "$P" "$P")
expect_eq "$(echo $out)" "$P refused $P connected $P refused $P connected" \
	"first = 1 across an exec of the same program: counted afresh, as the preload does"
out=$("$CLI" run --seccomp -c "$ecfg" -- "$STATIC" "$P" exec "$T/no-such-program" "$P")
expect_eq "$(echo $out)" "$P refused exec failed $P connected" \
	"first = 1 across an exec that fails: the count goes on, as the preload's does"

"$CLI" run --seccomp --refuse "127.0.0.1:$P" -- "$STATIC" nonblock "$P" > "$T/nb"
cat "$T/nb"
expect_eq "$(echo $(cat "$T/nb"))" "connect: -1 EINPROGRESS poll: OUT|ERR|HUP so_error: ECONNREFUSED" \
	"non-blocking: EINPROGRESS, then POLLOUT|POLLERR, then SO_ERROR = ECONNREFUSED"
"$STATIC" nonblock "$C" > "$T/nb-real"
diff "$T/nb-real" "$T/nb" || fail "the simulated non-blocking refusal differs from the kernel's"
ok "exactly what a real refusal (a closed port) shows the program"

# A config file: log lines with the program's pid and comm; a real refusal
# audited; another errno on a blocking socket.
"$CLI" run --seccomp -c "$cfg" -- "$STATIC" pid "$P" "$Q" "$C" "$C" > "$T/out"
cat "$T/out" "$log"
pid=$(sed -n 's/^pid //p' "$T/out")
expect_eq "$(grep -v '^pid' "$T/out" | tr '\n' ' ')" "$P refused $Q connected $C refused $C ETIMEDOUT " \
	"a config file: the rule, a pass, a real refusal, then the schedule's ETIMEDOUT"
expect_grep "^${STAMP}result=refused simulated=yes rule=db action=refuse pid=$pid uid=[0-9]+ comm=static-client dst=127\\.0\\.0\\.1:$P proto=tcp errno=ECONNREFUSED code=111 hex=0x6f wsa=WSAECONNREFUSED wsa_code=10061 wsa_hex=0x274d desc=\"Connection refused\" hint=\"[^\"]+\"\$" \
	"$log" "the refusal's line: the spec's keys in order, the program's pid and comm"
expect_grep "^${STAMP}result=refused simulated=no action=pass pid=$pid uid=[0-9]+ comm=static-client dst=127\\.0\\.0\\.1:$C proto=tcp errno=ECONNREFUSED " \
	"$log" "the real refusal (a blocking connect) is audited"
expect_grep "^${STAMP}result=failed simulated=yes rule=slow action=fail pid=$pid uid=[0-9]+ comm=static-client dst=127\\.0\\.0\\.1:$C proto=tcp errno=ETIMEDOUT " \
	"$log" "the ETIMEDOUT failure is logged"
expect_no_grep "dst=127\\.0\\.0\\.1:$Q " "$log" "a connect that passes yields no line at level failures"

# Non-blocking connects are audited where the program learns their outcome:
# SO_ERROR (trapped at a level that audits) or a second connect(). What the
# program sees stays the kernel's own.
alog=$T/audit-nb.log
acfg=$(config audit-nb.cfg "version = 1;
log: { syslog = false; file = \"$alog\"; level = \"all\"; };")
"$CLI" run --seccomp -c "$acfg" -- "$STATIC" pid nonblock "$C" > "$T/anb"
cat "$T/anb" "$alog"
apid=$(sed -n 's/^pid //p' "$T/anb")
grep -v '^pid' "$T/anb" > "$T/anb-seen"
diff "$T/nb-real" "$T/anb-seen" || fail "under audit, the non-blocking refusal differs from the kernel's"
expect_grep "^${STAMP}result=refused simulated=no action=pass pid=$apid uid=[0-9]+ comm=static-client dst=127\\.0\\.0\\.1:$C proto=tcp errno=ECONNREFUSED " \
	"$alog" "a real refusal of a non-blocking connect is audited (through SO_ERROR), the program seeing the kernel's"
"$CLI" run --seccomp -c "$acfg" -- "$STATIC" nonblock again "$C" > "$T/anb2"
"$STATIC" nonblock again "$C" > "$T/anb2-real"
diff "$T/anb2-real" "$T/anb2" || fail "under audit, a second connect() differs from the kernel's"
expect_eq "$(grep -c "^${STAMP}result=refused simulated=no action=pass .* dst=127\\.0\\.0\\.1:$C " "$alog")" 2 \
	"the same through a second connect()"
# Many connects in flight at once (asyncio, 400, half of them refused):
# each refusal logged once, each outcome the program's own.
slog=$T/audit-many.log
scfg=$(config audit-many.cfg "version = 1;
log: { syslog = false; file = \"$slog\"; rate = 0; };")
out=$("$CLI" run --seccomp -c "$scfg" -- $PY -c "
import asyncio, collections
async def one(port):
    try:
        r, w = await asyncio.open_connection('127.0.0.1', port)
        w.close()
        return 'connected'
    except ConnectionRefusedError:
        return 'refused'
async def main():
    got = await asyncio.gather(*[one($C if i % 2 else $Q) for i in range(400)])
    print(sorted(collections.Counter(got).items()))
asyncio.run(main())")
expect_eq "$out" "[('connected', 200), ('refused', 200)]" "asyncio, 400 connects at once: 200 connected, 200 refused"
expect_eq "$(grep -c "^${STAMP}result=refused simulated=no action=pass .* dst=127\\.0\\.0\\.1:$C " "$slog")" 200 \
	"each of the 200 real refusals audited once"
"$CLI" run --seccomp -c "$acfg" -- "$STATIC" nonblock "$Q" > "$T/anb3"
expect_eq "$(grep so_error "$T/anb3")" "so_error: 0" "a non-blocking connect that passes connects"
expect_grep "^${STAMP}result=in-progress simulated=no action=pass .* dst=127\\.0\\.0\\.1:$Q proto=tcp errno=EINPROGRESS " "$alog" \
	"level all: its start, in progress"
expect_grep "^${STAMP}result=connected simulated=no action=pass .* dst=127\\.0\\.0\\.1:$Q proto=tcp\$" "$alog" \
	"level all: then its connection, once"

# Another errno on a non-blocking socket arrives as the kernel would deliver
# it: EINPROGRESS, POLLERR, then SO_ERROR (or a second connect) = ETIMEDOUT.
tcfg=$(config timeout.cfg "version = 1;
log: { syslog = false; };
rules = ( { name = \"slow\"; dst = \"127.0.0.1\"; port = $P; action = \"fail\"; errno = \"ETIMEDOUT\"; } );")
out=$("$CLI" run --seccomp -c "$tcfg" -- "$STATIC" nonblock "$P")
expect_eq "$(echo $out)" "connect: -1 EINPROGRESS poll: OUT|ERR|HUP so_error: ETIMEDOUT" \
	"non-blocking ETIMEDOUT: EINPROGRESS, POLLERR, then SO_ERROR = ETIMEDOUT"
out=$("$CLI" run --seccomp -c "$tcfg" -- "$STATIC" nonblock again "$P")
expect_eq "$(echo $out)" "connect: -1 EINPROGRESS poll: OUT|ERR|HUP again: -1 ETIMEDOUT" \
	"non-blocking ETIMEDOUT: a second connect() reports it too"
out=$(CONNREFUSE_CONFIG=$tcfg LD_PRELOAD=$PRELOAD $HELPERS/nbconnect 127.0.0.1 "$P" | grep -m1 so_error)
expect_eq "$out" "so_error: ETIMEDOUT" "(as the preload library gives it)"
# The errno is kept while 6,000 audited connects that never ask come and go.
out=$("$CLI" run --seccomp -c "$tcfg" -- $PY -c "
import select, socket
def start(port):
    s = socket.socket(); s.setblocking(False)
    try:
        s.connect(('127.0.0.1', port))
    except BlockingIOError:
        pass
    return s
slow = start($P)
for _ in range(6000):
    start($Q).close()
select.select([], [slow], [], 5)
print(slow.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))")
expect_eq "$out" 110 "non-blocking ETIMEDOUT kept while 6,000 audited connects never ask for theirs"

# With scope "process", counters are per process: two clients in turn each see first = 2.
fcfg=$(config first.cfg "version = 1;
log: { syslog = false; };
rules = ( { name = \"retry\"; dst = \"127.0.0.1\"; port = $Q; action = \"refuse\"; first = 2; scope = \"process\"; } );")
out=$("$CLI" run --seccomp -c "$fcfg" -- sh -c "\"$STATIC\" $Q $Q $Q; \"$STATIC\" $Q $Q $Q")
expect_eq "$(echo $out)" "$Q refused $Q refused $Q connected $Q refused $Q refused $Q connected" \
	"first = 2 counts per process: each of two clients is refused twice, then connects"

# TCP Fast Open (sendto/sendmsg with MSG_FASTOPEN) is trapped too: refused
# like a real refusal, logged; without a rule it reaches the listener.
"$HELPERS/tfo" 127.0.0.1 "$C" > "$T/tfo-real"
tlog=$T/tfo.log
tfocfg=$(config tfo.cfg "version = 1;
log: { syslog = false; file = \"$tlog\"; };
rules = ( { name = \"tfo\"; port = $P; action = \"refuse\"; } );")
"$CLI" run --seccomp -c "$tfocfg" -- "$HELPERS/tfo" 127.0.0.1 "$P" > "$T/tfo-sim"
cat "$T/tfo-sim"
diff "$T/tfo-real" "$T/tfo-sim" || fail "TFO under --seccomp and a refuse rule differs from a real refusal"
ok "sendto/sendmsg(MSG_FASTOPEN) under --seccomp fail like a real refusal"
expect_eq "$(grep -c "^${STAMP}result=refused simulated=yes rule=tfo action=refuse .* comm=tfo dst=127\.0\.0\.1:$P proto=tcp errno=ECONNREFUSED " "$tlog")" 2 \
	"both TFO refusals are logged"
"$CLI" run --seccomp -- "$HELPERS/tfo" 127.0.0.1 "$P" > "$T/tfo-pass"
expect_grep '^sendto: 2 0$' "$T/tfo-pass" "without a rule, TFO under --seccomp reaches the listener"

# Reload: the supervisor picks up a replaced file, as the library does.
cat > "$T/loop.py" <<'PY'
import os, socket, sys, time
port, stop = int(sys.argv[1]), sys.argv[2]
while not os.path.exists(stop):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port)); print("connected", flush=True)
    except ConnectionRefusedError:
        print("refused", flush=True)
    s.close()
    time.sleep(0.02)
PY
refusing='version = 1;\nlog: { syslog = false; };\nrules = ( { name = "r"; port = %s; action = "refuse"; } );\n'
# reload_case NAME FIRST-CONFIG FIRST-OUTCOME SECOND-CONFIG SECOND-OUTCOME:
# a loop under --seccomp shows the first outcome, then the second once the
# file is replaced (the configs are printf formats of the port).
reload_case() {
	printf "$2" "$Q" > "$T/$1.cfg"
	"$CLI" run --seccomp -c "$T/$1.cfg" -- $PY "$T/loop.py" "$Q" "$T/$1.stop" > "$T/$1.out" &
	PIDS="$PIDS $!"
	wait_for grep -q "$3" "$T/$1.out" || fail "$1: the loop under --seccomp never saw '$3'"
	printf "$4" "$Q" > "$T/$1.new"
	mv "$T/$1.new" "$T/$1.cfg"
	wait_for grep -q "$5" "$T/$1.out" || fail "$1: the replaced file was not taken under --seccomp"
	touch "$T/$1.stop"
}
reload_case reload "$refusing" refused "$(echo "$refusing" | sed 's/"refuse"/"pass"/')" connected
ok "reload: a loop under --seccomp goes from refused to connected when the file is replaced"
# From a file with nothing to match or log (the supervisor does not even
# read the destinations then) to one that refuses.
reload_case quiet 'version = 1;\nlog: { syslog = false; level = "none"; };\n' connected "$refusing" refused
ok "reload: from no rules (destinations unread) to a refusing rule, the loop goes from connected to refused"

# delay_ms: the connect waits, then goes through.
dcfg=$(config delay.cfg "version = 1;
log: { syslog = false; };
rules = ( { name = \"slow\"; dst = \"127.0.0.1\"; port = $Q; action = \"pass\"; delay_ms = 400; } );")
t0=$(date +%s%N)
out=$("$CLI" run --seccomp -c "$dcfg" -- "$STATIC" "$Q")
ms=$(( ($(date +%s%N) - t0) / 1000000 ))
expect_eq "$out" "$Q connected" "delay_ms: the connect goes through"
[ "$ms" -ge 400 ] || fail "delay_ms = 400 took only $ms ms"
ok "delay_ms = 400: the run took $ms ms"

"$CLI" run --seccomp -- sh -c 'exit 42'
expect_eq "$?" 42 "the program's exit status passes through"

if command -v go >/dev/null; then
	mkdir -p "$T/go"
	(cd "$HERE/seccomp" && GOCACHE=$T/go/cache GOPATH=$T/go/path CGO_ENABLED=0 \
		go build -o "$T/go/goclient" goclient.go) || fail "go build"
	"$T/go/goclient" "$C" > "$T/go/real"
	out=$("$CLI" run --seccomp --refuse "127.0.0.1:$P" -- "$T/go/goclient" "$P" "$Q")
	echo "$out"
	expect_eq "$(echo "$out" | head -1)" "$P dial tcp 127.0.0.1:$P: connect: connection refused" \
		"Go net.Dial: the refusal's text"
	expect_eq "$(sed "s/$C/$P/g" "$T/go/real")" "$(echo "$out" | head -1)" "Go: the same text as against a closed port"
	expect_eq "$(echo "$out" | tail -1)" "$Q connected" "Go: the other port connects"
	out=$("$CLI" run --seccomp -c "$tcfg" -- "$T/go/goclient" "$P")
	expect_eq "$out" "$P dial tcp 127.0.0.1:$P: connect: connection timed out" "Go: a simulated ETIMEDOUT reads as a timeout"
	glog=$T/go/audit.log
	gcfg=$(config go-audit.cfg "version = 1;
log: { syslog = false; file = \"$glog\"; };")
	out=$("$CLI" run --seccomp -c "$gcfg" -- "$T/go/goclient" "$C" "$Q")
	expect_eq "$out" "$(cat "$T/go/real")
$Q connected" "Go under audit: what it sees is the kernel's"
	expect_grep "^${STAMP}result=refused simulated=no action=pass pid=[0-9]+ uid=[0-9]+ comm=goclient dst=127\\.0\\.0\\.1:$C proto=tcp errno=ECONNREFUSED " \
		"$glog" "Go under audit: its real refusal is logged"
	expect_eq "$(wc -l < "$glog")" 1 "Go under audit: one line, for the refusal alone"
else
	echo "note: no Go toolchain (Debian's golang-go): the Go client is not tested"
fi

# A program that exits as soon as its connect returns: its line still has
# its uid (the supervisor logs before it answers, while the program waits).
ulog=$T/exits.log
ucfg=$(config exits.cfg "version = 1;
log: { syslog = false; file = \"$ulog\"; rate = 0; };")
"$CLI" run --seccomp -c "$ucfg" -- sh -c "for i in \$(seq 200); do \"$STATIC\" $C; done" > /dev/null
expect_eq "$(grep -c "result=refused simulated=no .*comm=static-client" "$ulog")" 200 "200 programs that exit at once: 200 lines"
expect_no_grep "result=refused simulated=no action=pass pid=[0-9]+ comm=" "$ulog" "every one with its uid, though its program had exited"

# Where seccomp user notification cannot be had, a clear error and exit 125:
# never a silent run without the rules.
if command -v strace >/dev/null; then
	out=$(strace -f -qq -o /dev/null -e trace=seccomp -e inject=seccomp:error=ENOSYS \
		"$CLI" run --seccomp --refuse "127.0.0.1:$P" -- sh -c 'echo the program ran' 2>&1)
	rc=$?
	echo "$out"
	expect_eq "$rc" 125 "seccomp unavailable: exit 125"
	case $out in
	*"the program ran"*) fail "the program ran without its rules" ;;
	*"the system call seccomp is refused here"*) ok "seccomp unavailable: a clear error naming the call, and the program is not run" ;;
	*) fail "no clear error: $out" ;;
	esac
fi
