# Audit with no config at all: curl, python3 asyncio and nc (non-blocking
# connects that learn a refusal later, through SO_ERROR) each yield exactly
# one "result=refused simulated=no" line with the destination and their own
# comm, through a real rsyslogd; a successful connect yields none. A refused
# connect to "localhost", resolved by the program, carries host=localhost.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "needs root for a private mount namespace"; exit 77; }
P=$(start_listener)
C=$(closed_port)
cat > "$T/asyncio_client.py" <<'PY'
import asyncio, sys
async def main(host, port):
    try:
        _, w = await asyncio.open_connection(host, port)
        w.close()
        print("connected")
    except OSError as e:
        print(type(e).__name__)
asyncio.run(main(sys.argv[1], int(sys.argv[2])))
PY
out=$T/syslog.out
"$HERE/with-rsyslog.sh" "$out" sh -c "
	export LD_PRELOAD=$PRELOAD
	if [ -z \"\${CR_SANITIZE:-}\" ]; then curl -sS -o /dev/null http://127.0.0.1:$C/ 2>/dev/null; echo curl \$? > $T/curl.rc; fi
	$PY $T/asyncio_client.py 127.0.0.1 $C > $T/asyncio.txt
	nc -z 127.0.0.1 $C; echo nc \$? > $T/nc.rc
	[ -n \"\${CR_SANITIZE:-}\" ] || curl -sS -o /dev/null http://127.0.0.1:$P/
	$PY $T/asyncio_client.py 127.0.0.1 $P > $T/asyncio-ok.txt
	nc -z 127.0.0.1 $P
	$PY -c 'import socket; socket.create_connection((\"localhost\", $C))' 2>/dev/null; true
" || fail "with-rsyslog"
grep 'result=' "$out"
comms="python3 nc"
if have_curl; then
	comms="curl $comms"
	expect_eq "$(cat "$T/curl.rc")" "curl 7" "curl was refused"
fi
expect_eq "$(cat "$T/asyncio.txt") $(cat "$T/nc.rc")" "ConnectionRefusedError nc 1" "asyncio and nc were refused"
expect_eq "$(cat "$T/asyncio-ok.txt")" "connected" "asyncio reaches the listener"
for comm in $comms; do
	n=$(grep -cE "result=refused simulated=no action=pass pid=[0-9]+ uid=[0-9]+ comm=$comm dst=127\\.0\\.0\\.1:$C proto=tcp errno=ECONNREFUSED " "$out")
	expect_eq "$n" 1 "$comm: exactly one refused line with the destination"
done
expect_no_grep "result=connected|dst=127\\.0\\.0\\.1:$P " "$out" "successful connects yield no line at level failures"
expect_grep "result=refused simulated=no action=pass pid=[0-9]+ uid=[0-9]+ comm=python3 dst=(127\\.0\\.0\\.1|\\[::1\\]):$C host=localhost proto=tcp " "$out" "host=localhost for a name the program resolved"
