# action = "drop" against the real thing: in a private network namespace,
# an nft rule drops the SYNs to one port (the oracle) and a drop rule takes
# another; each client's output (its exit status, error text, what a C
# program observes) must be the same, and its elapsed time within 20%.
# tcp_syn_retries is lowered in the namespace so that a blocking connect
# ends in seconds. Then: one line a drop, the listener made again after the
# program closes every descriptor, one descriptor per family for 1,000
# connects in flight, and the same under run --seccomp, also for a program
# in a network namespace of its own.
# The script runs again in the namespace, before lib.sh makes its folder.
if [ "${CR_IN_NETNS:-}" != 1 ]; then
	[ "$(id -u)" = 0 ] || { echo "needs root for a network namespace"; exit 77; }
	for c in nft ip unshare; do command -v $c > /dev/null || { echo "$c is not installed"; exit 77; }; done
	CR_IN_NETNS=1 exec unshare -n sh "$0"
fi
. "$(dirname "$0")/lib.sh"
GOLDEN_SKIP=1 # the elapsed times are in the lines
ip link set lo up
sysctl -qw net.ipv4.tcp_syn_retries=1
REAL=9 SIM=10
nft add table inet cr
nft 'add chain inet cr in { type filter hook input priority 0; }'
nft add rule inet cr in tcp dport $REAL tcp flags '&' '(syn | ack)' == syn drop || fail "nft rule"
cfg=$(config drop.cfg "version = 1; log: { syslog = false; file = \"$T/drop.log\"; };
rules = ( { name = \"blackhole\"; dst = [\"127.0.0.1\", \"::1\"]; port = $SIM; action = \"drop\"; } );")

# same NAME COMMAND...: runs COMMAND with PORT set to the real DROP's port,
# then with PORT the rule's, preloaded; the outputs equal, times within 20%.
same() {
	name=$1
	shift
	retry_timing same_once "$@" || fail "$name: $sim_ms ms under the rule, $real_ms ms against a real DROP (three tries)"
	ok "$name: real DROP: $(head -n 1 "$T/real.n" | cut -c1-80) in $real_ms ms | drop rule: $(head -n 1 "$T/sim.n" | cut -c1-80) in $sim_ms ms"
}
# same_once COMMAND...: one try of same; false when only the times differ.
same_once() {
	s=$(date +%s%N); PORT=$REAL sh -c "$*" > "$T/real" 2>&1; echo "exit=$?" >> "$T/real"; real_ms=$(( ($(date +%s%N) - s) / 1000000 ))
	s=$(date +%s%N); PORT=$SIM CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD sh -c "$*" > "$T/sim" 2>&1; echo "exit=$?" >> "$T/sim"
	sim_ms=$(( ($(date +%s%N) - s) / 1000000 ))
	for f in real sim; do
		# curl words a connect timeout two ways, by its own timing, against
		# the real DROP as well: one text for both.
		sed -E "s/\\b($REAL|$SIM)\\b/PORT/g; s/[0-9]+ ms/N ms/g; /^elapsed=/d
			s/^curl: \\(28\\) (Connection timeout after N ms|Failed to connect to 127\\.0\\.0\\.1 port PORT after N ms: Timeout was reached)$/curl: (28) connect timeout/" "$T/$f" > "$T/$f.n"
	done
	cmp -s "$T/real.n" "$T/sim.n" || { diff "$T/real.n" "$T/sim.n"; fail "$name: the drop rule's output differs from a real DROP's"; }
	d=$((sim_ms - real_ms)); [ $d -lt 0 ] && d=$((-d))
	[ $((d * 5)) -le $((real_ms + 250)) ]
}

D=$HELPERS/dropclient
same "C non-blocking, IPv4" "$D nonblock 127.0.0.1 \$PORT"
same "C non-blocking, IPv6" "$D nonblock ::1 \$PORT"
same "C blocking, SO_SNDTIMEO 1 s" "$D sndtimeo 127.0.0.1 \$PORT"
same "C blocking, TCP_USER_TIMEOUT 1.5 s" "$D usertimeout 127.0.0.1 \$PORT"
same "C blocking, the SYN retries" "$D blocking 127.0.0.1 \$PORT"
same "python create_connection(timeout=1.5)" "$PY -c \"
import socket
try:
    socket.create_connection(('127.0.0.1', \$PORT), timeout=1.5)
except OSError as e:
    print(type(e).__name__, e)\""
same "python asyncio wait_for 1.5 s" "$PY -c \"
import asyncio
async def main():
    try:
        await asyncio.wait_for(asyncio.open_connection('127.0.0.1', \$PORT), 1.5)
    except Exception as e:
        print(type(e).__name__, e)
asyncio.run(main())\""
same "nc -w 1" "nc -z -w 1 127.0.0.1 \$PORT"
if have_curl; then
	same "curl --connect-timeout 1.5" "curl -sS --connect-timeout 1.5 http://127.0.0.1:\$PORT/"
fi

if [ -z "${CR_SANITIZE:-}" ] && command -v node > /dev/null; then
	same "node, a socket timeout of 1.5 s" "node -e '
const s = require(\"net\").connect(+process.argv[1], \"127.0.0.1\");
s.setTimeout(1500, () => { console.log(\"timeout\"); process.exit(3); });
s.on(\"connect\", () => console.log(\"connected\"));
s.on(\"error\", (e) => { console.log(e.code); process.exit(2); });' \$PORT"
fi
if [ -z "${CR_SANITIZE:-}" ] && command -v javac > /dev/null && javac -d "$T" "$HERE/Client.java" 2> /dev/null; then
	same "java, a connect timeout of 3 s" "java -cp $T Client 127.0.0.1 \$PORT timeout"
fi
# One line a drop, made at the connect: none when the timeout ends it.
lines=$(grep -c 'result=dropped' "$T/drop.log")
expect_grep '^'"$STAMP"'result=dropped simulated=yes rule=blackhole action=drop pid=[0-9]+ uid=[0-9]+ comm=[a-z0-9]+ dst=127\.0\.0\.1:10 proto=tcp$' \
	"$T/drop.log" "the line: result=dropped, no errno keys"
expect_no_grep 'rule=blackhole.*errno=' "$T/drop.log" "no second line when the program's timeout ends a drop"
ok "$lines drops logged, each once"

# A drop under dry_run is only logged (the real connect: refused here, as
# nothing listens), and schedules apply: first = 1 drops the first connect only.
dry=$(config dry.cfg "version = 1; log: { syslog = false; file = \"$T/dry.log\"; };
rules = ( { name = \"try\"; dst = \"127.0.0.1\"; port = $SIM; action = \"drop\"; dry_run = true; } );")
CONNREFUSE_CONFIG=$dry LD_PRELOAD=$PRELOAD "$D" nonblock 127.0.0.1 $SIM | sed 1q > "$T/out"
expect_eq "$(cat "$T/out")" "nonblock: connect=-1 EINPROGRESS poll=ready so_error=ECONNREFUSED" "dry_run: the real connect goes ahead"
expect_grep '^'"$STAMP"'result=refused simulated=no rule=try action=drop dry_run=yes ' "$T/dry.log" "dry_run: logged as what the rule would have done"
once=$(config once.cfg "version = 1; log: { syslog = false; };
rules = ( { name = \"once\"; dst = \"127.0.0.1\"; port = $SIM; action = \"drop\"; first = 1; } );")
CONNREFUSE_CONFIG=$once LD_PRELOAD=$PRELOAD $PY -c "
import socket
for _ in range(2):
    s = socket.socket(); s.settimeout(0.5)
    try:
        s.connect(('127.0.0.1', $SIM)); print('connected')
    except OSError as e:
        print(type(e).__name__)" > "$T/out"
expect_eq "$(tr '\n' ' ' < "$T/out")" "TimeoutError ConnectionRefusedError " "first = 1: the first connect hangs, the second is the kernel's"

# The program closes every descriptor above its socket (the listener among
# them): the listener is made again on its port and the connect held hangs on.
CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $PY -c "
import os, select, socket
s = socket.socket(); s.setblocking(False)
s.connect_ex(('127.0.0.1', $SIM))
os.closerange(s.fileno() + 1, 65536)
r = select.select([s], [s], [s], 2.0)
print('held' if r == ([], [], []) else 'released')
t = socket.socket(); t.setblocking(False)
print(t.connect_ex(('127.0.0.1', $SIM)), select.select([], [t], [], 0.5)[1] == [])" > "$T/out"
expect_eq "$(tr '\n' ' ' < "$T/out")" "held 115 True " "the program closes the listener: it is made again, the connect held hangs on"

# 1,000 connects in flight: one listener a family, no more.
CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $PY -c "
import os, socket
base = len(os.listdir('/proc/self/fd'))
socks = []
for i in range(1000):
    s = socket.socket(socket.AF_INET6 if i % 2 else socket.AF_INET); s.setblocking(False)
    s.connect_ex(('::1' if i % 2 else '127.0.0.1', $SIM)); socks.append(s)
print(len(os.listdir('/proc/self/fd')) - base - len(socks))" > "$T/out"
expect_eq "$(cat "$T/out")" 2 "1,000 dropped connects in flight hold 2 descriptors of the library's (one listener a family)"

# run --seccomp: the supervisor holds the listeners. Go makes raw system
# calls: net.DialTimeout times out as against the real DROP.
if command -v go > /dev/null; then
	mkdir -p "$T/go"
	(cd "$HERE/seccomp" && GOCACHE=$T/go/cache GOPATH=$T/go/path CGO_ENABLED=0 GOFLAGS=-mod=mod \
		go build -o "$T/go/goclient" goclient.go) || fail "go build"
	DIAL_TIMEOUT_MS=1500 "$T/go/goclient" $REAL | sed "s/\b$REAL\b/PORT/g" > "$T/real"
	DIAL_TIMEOUT_MS=1500 "$CLI" run --seccomp -c "$cfg" -- "$T/go/goclient" $SIM | sed "s/\b$SIM\b/PORT/g" > "$T/sim"
	expect_eq "$(cat "$T/sim")" "$(cat "$T/real")" "run --seccomp, Go net.DialTimeout: $(cat "$T/sim")"
fi

for p in "$D sndtimeo 127.0.0.1" "$D nonblock ::1"; do
	$p $REAL | sed 1q > "$T/real"
	"$CLI" run --seccomp -c "$cfg" -- $p $SIM | sed 1q > "$T/sim"
	expect_eq "$(cat "$T/sim")" "$(cat "$T/real")" "run --seccomp: $(cat "$T/sim")"
done
# A program in a network namespace of its own (unshare -n, as a container's
# is): the supervisor makes the listeners there, where the program's socket
# is; its own would be out of reach (a refusal instead of a hang).
inner="ip link set lo up && sysctl -qw net.ipv4.tcp_syn_retries=1 && nft add table inet cr &&
	nft 'add chain inet cr in { type filter hook input priority 0; }' &&
	nft add rule inet cr in tcp dport $REAL tcp flags '&' '(syn | ack)' == syn drop && exec \"\$@\""
for p in "$D sndtimeo 127.0.0.1" "$D nonblock ::1"; do
	unshare -n sh -c "$inner" sh $p $REAL | sed 1q > "$T/real"
	"$CLI" run --seccomp -c "$cfg" -- unshare -n sh -c "$inner" sh $p $SIM | sed 1q > "$T/sim"
	expect_eq "$(cat "$T/sim")" "$(cat "$T/real")" "run --seccomp, the program in its own network namespace: $(cat "$T/sim")"
done
# A refusal in a namespace whose loopback is down (the port-0 sink is out of
# reach there too): ECONNREFUSED all the same, in both modes.
refuse=$(config refuse.cfg "version = 1; log: { syslog = false; };
rules = ( { name = \"r\"; dst = \"127.0.0.1\"; port = $SIM; action = \"refuse\"; } );")
probe="import errno, socket
for blocking in (True, False):
    s = socket.socket(); s.setblocking(blocking)
    print(errno.errorcode[s.connect_ex(('127.0.0.1', $SIM))])"
out=$(unshare -n env CONNREFUSE_CONFIG="$refuse" LD_PRELOAD="$PRELOAD" $PY -c "$probe" | tr '\n' ' ')
expect_eq "$out" "ECONNREFUSED ECONNREFUSED " "loopback down, preloaded: a refusal, blocking and not"
out=$("$CLI" run --seccomp -c "$refuse" -- unshare -n $PY -c "$probe" | tr '\n' ' ')
expect_eq "$out" "ECONNREFUSED ECONNREFUSED " "loopback down, run --seccomp: a refusal, blocking and not"
