# Log lines through a real rsyslogd (started by the test in a private /dev):
# a simulated refusal with the spec's keys in order; with no config, a real
# refusal logged with simulated=no and a success not logged at all; a bad
# config reported in syslog too.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "needs root for a private mount namespace"; exit 77; }
command -v rsyslogd >/dev/null || { echo "rsyslogd not installed"; exit 77; }
P=$(start_listener)
C=$(closed_port)
cfg=$(config rules.cfg "version = 1;
rules = ( { name = \"db-down\"; dst = \"127.0.0.1\"; port = $P; action = \"refuse\"; } );")
bad=$(config bad.cfg "version = 1;
rules = ( { name = \"x\"; action = \"refuse\"; colour = \"red\"; } );")
fac=$(config fac.cfg "version = 1;
log: { ident = \"myapp\"; facility = \"local3\"; };
rules = ( { name = \"r\"; dst = \"127.0.0.1\"; port = $P; action = \"refuse\"; } );")
cat > "$T/client.py" <<'PY'
import socket, sys
try:
    socket.create_connection(("127.0.0.1", int(sys.argv[1])))
    print("connected")
except OSError as e:
    print(type(e).__name__)
PY
out=$T/syslog.out
"$HERE/with-rsyslog.sh" "$out" sh -c "
	CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $PY $T/client.py $P > $T/sim.txt
	LD_PRELOAD=$PRELOAD $PY $T/client.py $C > $T/audit.txt
	LD_PRELOAD=$PRELOAD $PY $T/client.py $P > $T/pass.txt
	CONNREFUSE_CONFIG=$fac LD_PRELOAD=$PRELOAD $PY $T/client.py $P > /dev/null
	CONNREFUSE_CONFIG=$bad LD_PRELOAD=$PRELOAD $PY $T/client.py $P > $T/bad.txt 2>$T/bad.err
" || fail "with-rsyslog"
cat "$out"
expect_eq "$(cat "$T/sim.txt")" "ConnectionRefusedError" "simulated refusal seen by python3"
expect_eq "$(cat "$T/audit.txt")" "ConnectionRefusedError" "real refusal seen by python3"

keys='result=refused simulated=yes rule=db-down action=refuse pid=[0-9]+ uid=[0-9]+ comm=python3 dst=127\.0\.0\.1:'$P' proto=tcp errno=ECONNREFUSED code=111 hex=0x6f wsa=WSAECONNREFUSED wsa_code=10061 wsa_hex=0x274d desc="Connection refused" hint="[^"]+"$'
expect_grep "^user\.warning connrefuse\[[0-9]+\]: $keys" "$out" "simulated refusal in rsyslog's file, keys in order"
expect_grep "^user\.warning connrefuse\[[0-9]+\]: result=refused simulated=no action=pass pid=[0-9]+ uid=[0-9]+ comm=python3 dst=127\.0\.0\.1:$C proto=tcp errno=ECONNREFUSED code=111 " "$out" "audit: real refusal logged with simulated=no"
expect_no_grep "result=connected" "$out" "a successful connect is not logged at level failures"
expect_grep "^local3\.warning myapp\[[0-9]+\]: result=refused simulated=yes rule=r " "$out" "log.ident and log.facility"
[ "$(grep -c 'result=' "$out")" = 3 ] || fail "expected exactly 3 event lines"
ok "exactly three event lines"
expect_grep "^user\.err connrefuse\[[0-9]+\]: config error: $bad:2: rule \"x\": unknown key 'colour'" "$out" "bad config reported in syslog with file and line"
expect_grep "config error: $bad:2: rule \"x\": unknown key 'colour'" "$T/bad.err" "bad config reported on stderr"
expect_eq "$(cat "$T/bad.txt")" "connected" "with a bad config the program runs with no rules"
