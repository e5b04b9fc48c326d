# A refuse rule makes real, unmodified programs (python3, curl, nc) fail as
# against a closed port; a second listener with no rule is reached by all.
. "$(dirname "$0")/lib.sh"
P=$(start_listener)
Q=$(start_listener)
P6=$(start_listener ::1)
cfg=$(config rules.cfg "version = 1;
log: { syslog = false; };
rules = (
  { name = \"refuse-p\"; dst = \"127.0.0.1\"; port = $P; action = \"refuse\"; },
  { name = \"refuse-p6\"; dst = \"::1\"; port = $P6; action = \"refuse\"; },
  { name = \"unix\"; path = \"$T/*.sock\"; action = \"refuse\"; }
);")
export CONNREFUSE_CONFIG=$cfg

py_connect='
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])))
    print("connected")
except ConnectionRefusedError as e:
    print("ConnectionRefusedError", e.errno)
'
out=$(LD_PRELOAD=$PRELOAD $PY -c "$py_connect" 127.0.0.1 "$P")
expect_eq "$out" "ConnectionRefusedError 111" "python3 refused on P"
out=$(LD_PRELOAD=$PRELOAD $PY -c "$py_connect" 127.0.0.1 "$Q")
expect_eq "$out" "connected" "python3 reaches Q"
out=$(LD_PRELOAD=$PRELOAD $PY -c "$py_connect" ::1 "$P6")
expect_eq "$out" "ConnectionRefusedError 111" "python3 refused on [::1]:P6"

if have_curl; then
	LD_PRELOAD=$PRELOAD curl -sS -o /dev/null "http://127.0.0.1:$P/" 2>"$T/curl.err"
	expect_eq "$?" 7 "curl exits 7 on P"
	expect_grep "Failed to connect to 127.0.0.1 port $P" "$T/curl.err" "curl says it could not connect"
	LD_PRELOAD=$PRELOAD curl -sS -o /dev/null "http://127.0.0.1:$Q/"
	expect_eq "$?" 0 "curl reaches Q"
	LD_PRELOAD=$PRELOAD curl -sS -o /dev/null "http://[::1]:$P6/" 2>/dev/null
	expect_eq "$?" 7 "curl exits 7 on [::1]:P6"
fi

LD_PRELOAD=$PRELOAD nc -z 127.0.0.1 "$P"
expect_eq "$?" 1 "nc -z fails on P"
LD_PRELOAD=$PRELOAD nc -z 127.0.0.1 "$Q"
expect_eq "$?" 0 "nc -z reaches Q"
LD_PRELOAD=$PRELOAD nc -z -6 ::1 "$P6"
expect_eq "$?" 1 "nc -z fails on [::1]:P6"

# Without the library the same programs reach P: the rule did it.
nc -z 127.0.0.1 "$P"
expect_eq "$?" 0 "bare nc reaches P"

# A unix socket path, matched by glob: refused at once, as the kernel does.
$PY -c "import socket,sys; s=socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(); import time; time.sleep(120)" "$T/srv.sock" >/dev/null 2>&1 &
PIDS="$PIDS $!"
wait_for test -S "$T/srv.sock" || fail "unix listener"
out=$(LD_PRELOAD=$PRELOAD $PY -c "
import socket, sys
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(sys.argv[1]); print('connected')
except OSError as e:
    print(type(e).__name__, e.errno)" "$T/srv.sock")
expect_eq "$out" "ConnectionRefusedError 111" "unix socket refused by path glob"
out=$($PY -c "import socket, sys; s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); print('connected')" "$T/srv.sock")
expect_eq "$out" "connected" "bare python3 reaches the unix socket"
