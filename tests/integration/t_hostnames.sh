# Host names in rules match through the names the program itself resolved.
# A private hosts file (bind-mounted over /etc/hosts in a private mount
# namespace; the machine's file is untouched) maps api.test and api.other to
# loopback addresses: dst = "*.test" refuses the first and not the second.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "needs root for a private mount namespace"; exit 77; }
P2=$(start_listener 127.0.0.2)
P3=$(start_listener 127.0.0.3)
printf '127.0.0.1 localhost\n127.0.0.2 api.test\n127.0.0.3 api.other\n' > "$T/hosts"
cfg=$(config rules.cfg "version = 1;
log: { syslog = false; file = \"$T/file.log\"; level = \"all\"; };
rules = ( { name = \"tests\"; dst = \"*.test\"; action = \"refuse\"; } );")
cat > "$T/client.py" <<'PY'
import socket, sys
for name, port in ((sys.argv[1], int(sys.argv[2])), (sys.argv[3], int(sys.argv[4]))):
    try:
        socket.create_connection((name, port)).close()
        print(name, "connected")
    except OSError as e:
        print(name, type(e).__name__)
PY
unshare -m --propagation private sh -c "
	mount --bind $T/hosts /etc/hosts
	CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $PY $T/client.py api.test $P2 api.other $P3 > $T/out
	[ -n \"\${CR_SANITIZE:-}\" ] || CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD curl -sS -o /dev/null http://api.test:$P2/ 2>/dev/null; echo \$? > $T/curl.rc
	LD_PRELOAD=$PRELOAD $PY -c 'import socket; print(socket.gethostbyname(\"api.test\"))' > $T/ghbn
	CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $PY -c '
import socket, sys
a = socket.gethostbyname(\"api.test\")
try:
    socket.create_connection((a, int(sys.argv[1]))); print(\"connected\")
except OSError as e:
    print(type(e).__name__)' $P2 > $T/ghbn.out
"
cat "$T/out" "$T/file.log"
expect_grep '^api.test ConnectionRefusedError$' "$T/out" "dst = \"*.test\" refuses api.test"
expect_grep '^api.other connected$' "$T/out" "and lets api.other through"
expect_grep "^${STAMP}result=refused simulated=yes rule=tests action=refuse pid=[0-9]+ uid=[0-9]+ comm=python3 dst=127\\.0\\.0\\.2:$P2 host=api\\.test proto=tcp " "$T/file.log" "the refusal is logged with host=api.test"
expect_grep "^${STAMP}result=connected simulated=no action=pass pid=[0-9]+ uid=[0-9]+ comm=python3 dst=127\\.0\\.0\\.3:$P3 host=api\\.other proto=tcp" "$T/file.log" "the pass is logged with host=api.other"
if have_curl; then
	expect_eq "$(cat "$T/curl.rc")" 7 "curl http://api.test/ is refused"
fi
expect_eq "$(cat "$T/ghbn")" "127.0.0.2" "the private hosts file is in force"
expect_eq "$(cat "$T/ghbn.out")" "ConnectionRefusedError" "a name resolved with gethostbyname matches too"
