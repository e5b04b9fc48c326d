# The host program comes first: nothing in the library can end the program
# (no exit, abort or assert linked in), system calls that fail on the config
# path (injected with strace -P) give one config error and the program runs
# on, and a log sink that cannot take a line (read-only file system, full
# disk, no descriptor left) costs the line, counted, never the connect.
. "$(dirname "$0")/lib.sh"

# 1. Nothing that ends a process, in the built library: the only exit is
# CONNREFUSE_STRICT's, through _exit.
nm -D --undefined-only "$LIB" | awk '{print $2}' | sed 's/@.*//' > "$T/undef"
for f in exit abort __assert_fail __assert_perror_fail quick_exit _Exit err errx verr verrx error error_at_line; do
	! grep -qx "$f" "$T/undef" || fail "libconnrefuse.so calls $f(): it could end the host program"
done
ok "libconnrefuse.so links none of exit, abort, __assert_fail, err, error ($(wc -l < "$T/undef") undefined symbols read)"

# 2. System calls on the config path fail: one config error, the program runs.
command -v strace > /dev/null || fail "strace is missing"
cfg=$(config x.cfg 'version = 1; log: { syslog = false; };
rules = ( { dst = "127.0.0.1"; port = 1; action = "refuse"; } );')
n=0
for inj in openat:error=EACCES openat:error=EMFILE openat:error=ENFILE read:error=EIO read:error=EINTR \
	   newfstatat:error=ENOMEM newfstatat:error=EIO:when=3 newfstatat:error=ELOOP; do
	CONNREFUSE_CONFIG=$cfg strace -f -qq -o /dev/null -P "$cfg" -e inject=$inj \
		env LD_PRELOAD="$PRELOAD" $PY -c 'print("ran")' > "$T/out" 2> "$T/err"
	expect_eq "$?:$(cat "$T/out")" "0:ran" "inject $inj on the config path: the program runs"
	expect_eq "$(grep -c . "$T/err")" 1 "inject $inj: one line on stderr"
	expect_grep "^connrefuse: config error: $cfg: " "$T/err" "inject $inj: a config error naming the file"
	n=$((n + 1))
done
# A signal during one read is not an error: the read is made again.
CONNREFUSE_CONFIG=$cfg strace -f -qq -o /dev/null -P "$cfg" -e inject=read:error=EINTR:when=1 \
	env LD_PRELOAD="$PRELOAD" $PY -c 'print("ran")' > "$T/out" 2> "$T/err"
expect_eq "$?:$(cat "$T/out"):$(cat "$T/err")" "0:ran:" "one interrupted read: the rules load"
ok "$((n + 1)) system-call faults injected on the config path"

# 3. The log sinks fail: the connect and its simulated result are as
# without logging; the lines lost are counted in the summary at exit.
logf=$T/sink.log
sink=$(config sink.cfg "version = 1; log: { syslog = false; stderr = true; file = \"$logf\"; };
rules = ( { name = \"r\"; dst = \"127.0.0.1\"; port = 1; action = \"refuse\"; } );")
three='import socket
for _ in range(3):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", 1)); print("connected")
    except OSError as e:
        print(e.errno)
    s.close()'
for inj in openat:error=EROFS openat:error=EMFILE write,writev:error=ENOSPC write,writev:error=EIO; do
	: > "$logf"
	CONNREFUSE_CONFIG=$sink strace -f -qq -o /dev/null -P "$logf" -e inject=$inj \
		env LD_PRELOAD="$PRELOAD" $PY -c "$three" > "$T/out" 2> "$T/err"
	expect_eq "$?:$(tr '\n' ' ' < "$T/out")" "0:111 111 111 " "log file fails ($inj): the connects are refused as ever"
	# A second may turn between two connects: the count then comes in two
	# summary lines (one at the turn, one at exit), and their sum is 3.
	expect_grep '^connrefuse: result=suppressed count=0 dropped=[1-3] ' "$T/err" "log file fails ($inj): a summary line"
	lost=$(sed -n 's/^connrefuse: result=suppressed count=0 dropped=\([0-9]*\) .*/\1/p' "$T/err" | awk '{ s += $1 } END { print s + 0 }')
	expect_eq "$lost" 3 "log file fails ($inj): the 3 lines lost are counted"
done

# 4. A program at its descriptor limit: the library needs none to refuse a
# connect (nor to pass one), and the lines it cannot write are counted.
atlimit=$(config limit.cfg "version = 1; log: { syslog = true; stderr = false; file = \"$logf\"; };
rules = ( { name = \"r\"; dst = \"127.0.0.1\"; port = 1; action = \"refuse\"; } );")
P=$(start_listener)
: > "$logf"
CONNREFUSE_CONFIG=$atlimit LD_PRELOAD=$PRELOAD $PY -c "
import os, resource, socket
resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))
a, b = socket.socket(), socket.socket()
held = []
try:
    while True: held.append(os.open('/dev/null', os.O_RDONLY))
except OSError as e:
    print('full', e.errno)
for s, port in ((a, 1), (b, $P)):
    try:
        s.connect(('127.0.0.1', port)); print('connected')
    except OSError as e:
        print(e.errno)
for fd in held: os.close(fd)
" > "$T/out" 2> "$T/err"
expect_eq "$?:$(tr '\n' ' ' < "$T/out")" "0:full 24 111 connected " "at RLIMIT_NOFILE: refused and passed as ever"
expect_grep 'result=suppressed count=0 dropped=1 ' "$logf" "at RLIMIT_NOFILE: the line that could not be written is counted"
