# Resolver faults against the real thing: in a private mount and network
# namespace, /etc/resolv.conf (options timeout:1 attempts:1), /etc/hosts and
# /etc/nsswitch.conf are our own, pointing at a real DNS server (dnsmasq on
# 127.0.0.1) that answers NXDOMAIN for gone.test, no address for bare.test
# (a TXT record only), and never answers for *.hang.test (forwarded to a
# socket nobody reads). Host rules fail live1/live2/live3.test, names that
# do resolve, with EAI_NONAME, EAI_NODATA and EAI_AGAIN (delay_ms = 1000, a
# resolver's timeout); each client's output (codes, error text, exit status)
# must be the real failure's, and its elapsed time within 20%.
# The script runs again in the namespaces, before lib.sh makes its folder.
if [ "${CR_IN_NS:-}" != 1 ]; then
	[ "$(id -u)" = 0 ] || { echo "needs root for a mount namespace"; exit 77; }
	for c in dnsmasq unshare ip mount; do command -v $c > /dev/null || { echo "$c is not installed"; exit 77; }; done
	CR_IN_NS=1 exec unshare -m -n sh "$0"
fi
. "$(dirname "$0")/lib.sh"
GOLDEN_SKIP=1 # the elapsed times are in the lines
ip link set lo up
printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > "$T/resolv.conf"
printf '127.0.0.1 localhost\n::1 localhost\n' > "$T/hosts"
printf 'hosts: files dns\n' > "$T/nsswitch.conf"
for f in resolv.conf hosts nsswitch.conf; do
	mount --bind "$T/$f" "/etc/$f" || fail "cannot mount a private /etc/$f"
done
# The server that never answers: bound, never read. It and dnsmasq are the
# test's tools, not programs under test: no preload (under make check-asan
# LD_PRELOAD holds the sanitizer runtime).
env -u LD_PRELOAD $PY -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.9", 53))
open(sys.argv[1], "w").write("ready")
time.sleep(600)' "$T/blackhole.ready" &
PIDS="$PIDS $!"
env -u LD_PRELOAD dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv --no-hosts --user=root \
	--listen-address=127.0.0.1 --bind-interfaces --pid-file="$T/dnsmasq.pid" --local=/test/ \
	--address=/live1.test/127.0.0.5 --address=/live2.test/127.0.0.5 --address=/live3.test/127.0.0.5 \
	--txt-record=bare.test,nothing --server=/hang.test/127.0.0.9 2> "$T/dnsmasq.err" &
PIDS="$PIDS $!"
R=$HELPERS/resolveclient
wait_for test -s "$T/blackhole.ready" || fail "the silent server did not start"
wait_for sh -c "$R live1.test | grep -q '^getaddrinfo: 0 '" || { cat "$T/dnsmasq.err"; fail "dnsmasq does not answer"; }
ok "without rules, live1/2/3.test resolve: $($R live3.test | head -n 1)"

cfg=$(config resolve.cfg "version = 1; log: { syslog = false; file = \"$T/resolve.log\"; };
rules = (
  { name = \"no-such\"; host = \"live1.test\"; action = \"fail\"; errno = \"EAI_NONAME\"; },
  { name = \"no-data\"; host = \"LIVE2.test.\"; action = \"fail\"; errno = \"EAI_NODATA\"; },
  { name = \"dns-down\"; host = [\"live3.test\", \"*.live3.test\"]; action = \"fail\"; errno = \"EAI_AGAIN\"; delay_ms = 1000; }
);")

# same CASE CLIENT COMMAND...: runs COMMAND with NAME the real failure's name,
# then with NAME the rule's, preloaded; the outputs equal (names masked),
# times within 20%.
same() {
	case=$1 client=$2
	shift 2
	retry_timing same_once "$@" || fail "$client, $case: $sim_ms ms under the rule, $real_ms ms for real (three tries)"
	ok "$client, $case: real: $(grep -v '^exit=' "$T/real.n" | head -n 1 | cut -c1-70), $(grep '^exit=' "$T/real.n") in $real_ms ms | rule: $(grep -v '^exit=' "$T/sim.n" | head -n 1 | cut -c1-70), $(grep '^exit=' "$T/sim.n") in $sim_ms ms"
}
# same_once COMMAND...: one try of same; false when only the times differ.
same_once() {
	case $case in
	nxdomain) real=gone.test sim=live1.test ;;
	nodata) real=bare.test sim=live2.test ;;
	timeout) real=x.hang.test sim=live3.test ;;
	esac
	s=$(date +%s%N); NAME=$real sh -c "$*" > "$T/real" 2>&1; echo "exit=$?" >> "$T/real"; real_ms=$(( ($(date +%s%N) - s) / 1000000 ))
	s=$(date +%s%N); NAME=$sim CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD sh -c "$*" > "$T/sim" 2>&1; echo "exit=$?" >> "$T/sim"
	sim_ms=$(( ($(date +%s%N) - s) / 1000000 ))
	for f in real sim; do
		sed -E "s/\\b($real|$sim)\\b/NAME/g; /^ms=/d" "$T/$f" > "$T/$f.n"
	done
	cmp -s "$T/real.n" "$T/sim.n" || { diff "$T/real.n" "$T/sim.n"; fail "$client, $case: the host rule's output differs from the real failure's"; }
	d=$((sim_ms - real_ms)); [ $d -lt 0 ] && d=$((-d))
	# The time is the simulation's only where it waits (delay_ms, the
	# timeout case); the others take as long as the client takes to start.
	[ "$case" != timeout ] || [ $((d * 5)) -le $((real_ms + 250)) ]
}

for c in nxdomain nodata timeout; do
	same $c "C (getaddrinfo, gethostbyname[2][_r])" "$R \"\$NAME\""
done
# The C client's lines, for the record: every code, as the table in NOTES.md.
for n in gone.test bare.test; do
	$R $n | sed "s/^/    $n: /"
done
for c in nxdomain nodata timeout; do
	same $c "python getaddrinfo" "$PY -c \"
import socket, sys
try:
    socket.getaddrinfo(sys.argv[1], 80)
    print('resolved')
except socket.gaierror as e:
    print('gaierror', e.errno, e)\" \"\$NAME\""
	same $c "python create_connection" "$PY -c \"
import socket, sys
try:
    socket.create_connection((sys.argv[1], 80), timeout=5)
except OSError as e:
    print(type(e).__name__, e)\" \"\$NAME\""
	if have_curl; then
		same $c "curl" "curl -sS --max-time 10 \"http://\$NAME:1/\""
	fi
	if [ -z "${CR_SANITIZE:-}" ] && command -v node > /dev/null; then
		same $c "node dns.lookup" "node -e '
require(\"dns\").lookup(process.argv[1], (e, a) => console.log(e ? e.code + \" \" + e.message : \"resolved\"));' \"\$NAME\""
		same $c "node net.connect" "node -e '
const s = require(\"net\").connect(80, process.argv[1]);
s.on(\"error\", (e) => { console.log(e.code, e.message); process.exit(2); });
s.on(\"connect\", () => { console.log(\"connected\"); s.destroy(); });' \"\$NAME\""
	fi
	if [ -z "${CR_SANITIZE:-}" ] && command -v psql > /dev/null; then
		same $c "psql" "psql \"host=\$NAME port=5432 user=x dbname=x connect_timeout=5\" -c ''"
	fi
done

# The lines: simulated look-ups name their rule; real failures are audited
# at the default level (the library preloaded, no rule on those names).
for n in gone.test bare.test x.hang.test; do
	CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $PY -c "
import socket, sys
try: socket.getaddrinfo(sys.argv[1], 80)
except socket.gaierror: pass" $n
done
expect_grep '^'"$STAMP"'result=failed simulated=yes rule=no-such action=fail pid=[0-9]+ uid=[0-9]+ comm=[a-z0-9]+ host=live1\.test proto=dns errno=EAI_NONAME code=-2 wsa=WSAHOST_NOT_FOUND wsa_code=11001 wsa_hex=0x2af9 desc="Name or service not known" hint="the name does not exist' \
	"$T/resolve.log" "a simulated EAI_NONAME: its line (code=-2, no hex=)"
expect_grep '^'"$STAMP"'result=failed simulated=yes rule=no-data action=fail .* host=live2\.test proto=dns errno=EAI_NODATA code=-5 wsa=WSANO_DATA ' \
	"$T/resolve.log" "a simulated EAI_NODATA: its line (the rule's LIVE2.test. matched live2.test)"
expect_grep '^'"$STAMP"'result=failed simulated=yes rule=dns-down action=fail .* host=live3\.test proto=dns errno=EAI_AGAIN code=-3 wsa=WSATRY_AGAIN ' \
	"$T/resolve.log" "a simulated EAI_AGAIN: its line"
expect_grep '^'"$STAMP"'result=failed simulated=no action=pass pid=[0-9]+ uid=[0-9]+ comm=python3 host=gone\.test proto=dns errno=EAI_NONAME code=-2 ' \
	"$T/resolve.log" "a real NXDOMAIN is audited"
expect_grep '^'"$STAMP"'result=failed simulated=no action=pass .* host=bare\.test proto=dns errno=EAI_NODATA code=-5 ' \
	"$T/resolve.log" "a real name with no address is audited"
expect_grep '^'"$STAMP"'result=failed simulated=no action=pass .* host=x\.hang\.test proto=dns errno=EAI_AGAIN code=-3 ' \
	"$T/resolve.log" "a real server that never answers is audited"
expect_no_grep ' hex=' "$T/resolve.log" "no hex= on a resolver's code"

# Schedules, dry run, the level, and what is never a look-up.
sched=$(config sched.cfg "version = 1; seed = 7; log: { syslog = false; file = \"$T/sched.log\"; level = \"all\"; };
rules = (
  { name = \"first-two\"; host = \"live1.test\"; first = 2; action = \"fail\"; errno = \"EAI_AGAIN\"; },
  { name = \"would\"; host = \"*.TEST\"; dry_run = true; action = \"fail\"; errno = \"EAI_NONAME\"; }
);")
out=$(CONNREFUSE_CONFIG=$sched LD_PRELOAD=$PRELOAD $PY -c "
import socket
for name in ['live1.test'] * 3 + ['live2.test', '127.0.0.5', 'localhost']:
    try:
        socket.getaddrinfo(name, 80); print('ok', end=' ')
    except socket.gaierror as e:
        print(e.errno, end=' ')")
expect_eq "$out" "-3 -3 ok ok ok ok " "first = 2: two look-ups fail, the third resolves; a dry run, an address and /etc/hosts resolve"
expect_grep '^'"$STAMP"'result=resolved simulated=no rule=would action=fail dry_run=yes .* host=live2\.test proto=dns$' "$T/sched.log" \
	"a dry run logs the look-up it would have failed, which resolved"
expect_grep '^'"$STAMP"'result=resolved simulated=no action=pass .* host=localhost proto=dns$' "$T/sched.log" \
	"level all: a look-up that resolved (no rule on it)"
expect_no_grep 'host=127\.0\.0\.5' "$T/sched.log" "an address is not looked up: no line"

# getnameinfo: the name a reverse look-up found is ruled.
rev=$(config rev.cfg "version = 1; log: { syslog = false; file = \"$T/rev.log\"; };
rules = ( { name = \"no-reverse\"; host = \"localhost\"; action = \"fail\"; errno = \"EAI_AGAIN\"; } );")
out=$(CONNREFUSE_CONFIG=$rev LD_PRELOAD=$PRELOAD $PY -c "
import socket
print(socket.getnameinfo(('127.0.0.1', 80), 0)[0], end=' ')
try:
    socket.getnameinfo(('127.0.0.1', 80), socket.NI_NAMEREQD)
except socket.gaierror as e:
    print(e.errno)")
expect_eq "$out" "127.0.0.1 -3" "getnameinfo: a failed reverse look-up gives the numeric form, or with NI_NAMEREQD the failure"
expect_eq "$($PY -c "import socket; print(socket.getnameinfo(('127.0.0.1', 80), 0)[0])")" "localhost" \
	"getnameinfo without the library: localhost"
# An address with no name: the numeric form, as without the library (many
# times: each call enters and leaves the rule set once).
noname="import socket
for _ in range(200): r = socket.getnameinfo(('127.0.0.77', 80), 0)
print(r[0])"
expect_eq "$(CONNREFUSE_CONFIG=$rev LD_PRELOAD=$PRELOAD $PY -c "$noname")" "$($PY -c "$noname")" \
	"getnameinfo of an address with no name: the numeric form, as without the library"

# Under run: --fail-dns, and match --resolve names the rule that decides.
out=$($CLI run --fail-dns EAI_NONAME=live1.test -- $PY -c "
import socket
try: socket.getaddrinfo('live1.test', 80)
except socket.gaierror as e: print(e.errno, e)" 2> /dev/null)
expect_eq "$out" "-2 [Errno -2] Name or service not known" "run --fail-dns EAI_NONAME=live1.test"
$CLI match "$cfg" --resolve Live3.TEST > "$T/match" 2>&1
expect_grep '^decided by rule dns-down \(line 5\): action=fail errno=EAI_AGAIN delay_ms=1000 log=failures$' "$T/match" \
	"match --resolve Live3.TEST: the rule dns-down"
