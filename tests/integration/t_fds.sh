# Descriptors: every descriptor the library opens is close-on-exec (strace);
# it holds none between log lines, so a program that closes every fd above 2
# or dup2()s over them keeps working and its logging goes on, to syslog (a
# real rsyslogd) and the file; and nothing of the library's crosses an exec
# (a preloaded program that logged, then exec'd `ls /proc/self/fd`, lists
# what the bare program lists).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "needs root for a private /dev"; exit 77; }
C=$(closed_port)
cfg=$(config fds.cfg "version = 1;
log: { syslog = true; file = \"$T/file.log\"; rate = 0; };")

if [ -z "${CR_SANITIZE:-}" ] && command -v strace >/dev/null; then
	CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD strace -f -qq -e trace=openat,open,socket,accept,accept4,dup,dup2,dup3,fcntl,pipe,pipe2 \
		-o "$T/strace" $HELPERS/connloop 127.0.0.1 "$C" 3 > /dev/null
	# The loader's opens of libraries, and connloop's own sockets, aside.
	grep -vE '\.so(\.[0-9]+)*"|ld\.so\.cache|socket\(AF_INET, SOCK_STREAM, IPPROTO_IP\)|exited with' "$T/strace" > "$T/ours"
	cat "$T/ours"
	[ -s "$T/ours" ] || fail "strace saw none of the library's descriptors"
	expect_no_grep '^[0-9]+ +(openat|open|socket)\(' "$(grep -v CLOEXEC "$T/ours" > "$T/open-no-cloexec"; echo "$T/open-no-cloexec")" \
		"every descriptor the library opens (config, file sink, syslog socket) is close-on-exec"
else
	echo "note: the close-on-exec check needs strace and no sanitizer runtime"
fi

cat > "$T/closer.py" <<'PY'
import os, socket, sys
port = int(sys.argv[1])
def attempt(label):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port)); r = "connected"
    except OSError as e:
        r = type(e).__name__
    s.close()
    print(label, r, flush=True)
attempt("before")
os.closerange(3, 4096)                      # close every descriptor above 2
attempt("after closing")
null = os.open("/dev/null", os.O_RDWR)
for fd in range(3, 64):                     # and occupy the low numbers
    if fd != null:
        os.dup2(null, fd)
attempt("after dup2")
PY
out=$T/syslog.out
"$HERE/with-rsyslog.sh" "$out" sh -c "CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $PY $T/closer.py $C > $T/closer.out" ||
	fail "the closing program failed"
cat "$T/closer.out"
expect_eq "$(cut -d' ' -f2- "$T/closer.out" | tr '\n' ' ')" \
	"ConnectionRefusedError closing ConnectionRefusedError dup2 ConnectionRefusedError " \
	"the program keeps working after closing and dup2-ing over every descriptor"
n=$(grep -c "result=refused simulated=no .* comm=python3 dst=127\\.0\\.0\\.1:$C " "$T/file.log")
expect_eq "$n" 3 "three refusals, three lines in the file"
n=$(grep -c "result=refused simulated=no .* comm=python3 dst=127\\.0\\.0\\.1:$C " "$out")
expect_eq "$n" 3 "three refusals, three lines through syslog"

cat > "$T/execer.py" <<'PY'
import os, socket, sys
s = socket.socket()
try:
    s.connect(("127.0.0.1", int(sys.argv[1])))
except OSError:
    pass
s.close()
os.execv("/bin/ls", ["ls", "/proc/self/fd"])
PY
$PY "$T/execer.py" "$C" > "$T/bare.fds"
: > "$T/file.log"
CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $PY "$T/execer.py" "$C" > "$T/preloaded.fds"
expect_grep "result=refused .* comm=python3 " "$T/file.log" "the preloaded program logged before its exec"
echo "after exec: $(tr '\n' ' ' < "$T/preloaded.fds")"
diff "$T/bare.fds" "$T/preloaded.fds" || fail "descriptors crossed the exec"
ok "no descriptor crosses an exec: the same $(wc -l < "$T/bare.fds") as bare"
