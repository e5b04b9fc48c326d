# CONNREFUSE_CONFIG naming anything at all, at start-up and as the target of
# a reload, preloaded into /usr/bin/python3 and curl: stdout and the exit
# status are the bare run's, stderr adds at most one config error line, and
# start-up is not held (no more than 50 ms over the bare run, the fastest of
# three each). What each path is, and its size, is printed with its row.
# (Which message the file rewritten while it is read gives depends on timing.)
GOLDEN_SKIP=1
. "$(dirname "$0")/lib.sh"
P=$(start_listener)
good='version = 1; log: { syslog = false; };'

# ---- the paths ----
mkdir "$T/dir"
mkfifo "$T/fifo" "$T/fifo-writer"
# A writer waiting on the FIFO: opening it for reading would not block, and
# reading it would wait for that writer forever.
sh -c "exec 3> '$T/fifo-writer'; sleep 60" &
PIDS="$PIDS $!"
$PY -c "import socket; socket.socket(socket.AF_UNIX).bind('$T/sock')"
ln -s "$T/loop-b" "$T/loop-a"; ln -s "$T/loop-a" "$T/loop-b"
ln -s "$T/nowhere" "$T/dangling"
truncate -s 129M "$T/big"
printf '%s\n' "$good" > "$T/group-writable"; chmod 664 "$T/group-writable"
printf '%s\n' "$good" > "$T/others"; chown nobody "$T/others"
mkdir -m 775 "$T/open-dir"; printf '%s\n' "$good" > "$T/open-dir/rules"
# A good file that includes the FIFO: libconfig would read it and wait.
printf '@include "%s"\n%s\n' "$T/fifo-writer" "$good" > "$T/include-fifo"
long=$T/$(printf 'a%.0s' $(seq 1 300))
long=$long/$(basename "$long")/$(basename "$long")/$(basename "$long")/x.cfg
# Rewritten in place, again and again, while programs start and read it.
python_rules=$($PY -c "print('version = 1; log: { syslog = false; }; rules = (' + ','.join('{ dst = \"10.%d.%d.%d\"; action = \"refuse\"; }' % (i >> 16 & 255, i >> 8 & 255, i & 255) for i in range(5000)) + ');')")
printf '%s\n' "$python_rules" > "$T/rewritten"
$PY -c "
import sys, time
text = open('$T/rewritten').read()
end = time.time() + 60
while time.time() < end:
    with open('$T/rewritten', 'r+') as f:
        f.truncate(0); f.write(text[:len(text) // 2]); f.flush(); f.write(text[len(text) // 2:])
" &
PIDS="$PIDS $!"

paths="directory:$T/dir fifo:$T/fifo fifo-with-writer:$T/fifo-writer dev-null:/dev/null dev-zero:/dev/zero
dev-urandom:/dev/urandom dev-ptmx:/dev/ptmx dev-tty:/dev/tty unix-socket:$T/sock symlink-loop:$T/loop-a
dangling-symlink:$T/dangling over-size:$T/big group-writable:$T/group-writable owned-by-nobody:$T/others
folder-group-writable:$T/open-dir/rules very-long-path:$long rewritten-while-read:$T/rewritten
include-of-a-fifo:$T/include-fifo empty-path:"

# prog NAME [VAR=VALUE...]: one of the programs, with that environment (a
# program held for 20 s fails the row: exit 124).
prog() {
	name=$1
	shift
	case $name in
	python3) timeout 20 env "$@" $PY -c 'import socket, sys; socket.create_connection(("127.0.0.1", int(sys.argv[1]))); print("ran")' "$P" ;;
	curl) timeout 20 env "$@" curl -sS -o /dev/null -w '%{http_code}\n' "http://127.0.0.1:$P/" ;;
	esac
}
# startup NAME PATH: the program's start-up bare and preloaded with PATH as
# its rules, alternated three times, the least of each (ms) in $bare and
# $slow; false when the preloaded one was held: more than twice bare plus
# 100 ms, a margin no load crosses where a held start-up takes seconds.
startup() {
	bare=999999 slow=999999
	for _ in 1 2 3; do
		s=$(date +%s%N)
		prog "$1" > /dev/null 2>&1
		e=$(( ($(date +%s%N) - s) / 1000000 ))
		[ "$e" -ge "$bare" ] || bare=$e
		s=$(date +%s%N)
		prog "$1" CONNREFUSE_CONFIG="$2" LD_PRELOAD="$PRELOAD" > /dev/null 2>&1
		e=$(( ($(date +%s%N) - s) / 1000000 ))
		[ "$e" -ge "$slow" ] || slow=$e
	done
	[ $((slow - bare)) -le $((bare + 100)) ] || { echo "(start-up ${slow} ms preloaded, ${bare} ms bare)"; return 1; }
}
progs="python3"
have_curl && progs="$progs curl"

tried=0
for entry in $paths; do
	kind=${entry%%:*}
	path=${entry#*:}
	size=$(stat -L -c %s "$path" 2>/dev/null || echo -)
	for p in $progs; do
		prog $p > "$T/bare.out" 2> "$T/bare.err"
		bare_rc=$?
		prog $p CONNREFUSE_CONFIG="$path" LD_PRELOAD="$PRELOAD" > "$T/out" 2> "$T/err"
		rc=$?
		expect_eq "$rc:$(cat "$T/out")" "$bare_rc:$(cat "$T/bare.out")" "$kind ($size bytes), $p: stdout and status as bare"
		lines=$(grep -vc '^$' "$T/err")
		# The file rewritten under the program may also change between its
		# load and its connect's look: that reload says its own line.
		max=1
		[ "$kind" != rewritten-while-read ] || max=2
		[ "$lines" -le $max ] || { cat "$T/err"; fail "$kind, $p: $lines lines on stderr"; }
		# Every path here but the empty one (no file named) and the one
		# rewritten (which may be read whole) is refused, with its reason.
		case $kind in empty-path|rewritten-while-read) ;; *) [ "$lines" -eq 1 ] || fail "$kind, $p: no config error" ;; esac
		[ "$lines" -eq 0 ] || expect_grep '^connrefuse: config error: ' "$T/err" "$kind, $p: $(head -n 1 "$T/err" | cut -c1-150)"
		# (The sanitizers' own start-up cost is not the library's.)
		retry_timing startup $p "$path" || [ -n "${CR_SANITIZE:-}" ] ||
			fail "$kind, $p: start-up held $((slow - bare)) ms (bare $bare ms), three times"
		ok "$kind, $p: start-up ${bare} ms bare, ${slow} ms preloaded"
	done
	tried=$((tried + 1))
done

# The same as the target of a reload: a program connecting every 50 ms for
# 2 s, whose good rules file is replaced by the path at once.
n=0
for entry in $paths; do
	kind=${entry%%:*}
	path=${entry#*:}
	case $kind in empty-path|very-long-path|rewritten-while-read) continue ;; esac
	n=$((n + 1))
	cfg=$T/reload-$n.cfg
	printf '%s\n' "$good" > "$cfg"
	(CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $PY -c "
import socket, time, sys
open('$T/started-$n', 'w').close()
end, ok = time.time() + 2.0, 0
while time.time() < end:
    socket.create_connection(('127.0.0.1', $P)).close(); ok += 1; time.sleep(0.05)
print('done', ok > 30)" > "$T/reload-$n.out" 2> "$T/reload-$n.err"; echo $? > "$T/reload-$n.rc") &
	PIDS="$PIDS $!"
	wait_for test -e "$T/started-$n" || fail "reload $kind: the program did not start"
	# Replaced in one step (a rename), as a rules file should be: no moment
	# without a file, which a reload look could report on its own.
	ln -s "$path" "$cfg.new" && mv -T "$cfg.new" "$cfg"
	echo "$kind" > "$T/reload-$n.kind"
done
for r in $(seq 1 $n); do # (wait_for uses i)
	kind=$(cat "$T/reload-$r.kind")
	wait_for test -s "$T/reload-$r.rc" || fail "reload to $kind: the program did not end"
	expect_eq "$(cat "$T/reload-$r.rc"):$(cat "$T/reload-$r.out")" "0:done True" "reload to $kind: the program ran on"
	lines=$(grep -vc '^$' "$T/reload-$r.err")
	[ "$lines" -eq 1 ] || { cat "$T/reload-$r.err"; fail "reload to $kind: $lines lines on stderr, not one"; }
	[ "$lines" -eq 0 ] || expect_grep 'config error: .*the rules loaded before stay in force' "$T/reload-$r.err" \
		"reload to $kind: $(cut -c1-120 "$T/reload-$r.err")"
done

# Unreadable for the program's user: run as nobody, the file root's, 0600.
pub=$(mktemp -d /tmp/connrefuse-paths.XXXXXX)
chmod 755 "$pub"
cp "$LIB" "$pub/"
printf '%s\n' "$good" > "$pub/secret.cfg"
chmod 600 "$pub/secret.cfg"
setpriv --reuid=nobody --regid=nogroup --clear-groups env CONNREFUSE_CONFIG="$pub/secret.cfg" \
	LD_PRELOAD="$pub/libconnrefuse.so" /usr/bin/python3 -c 'print("ran")' > "$T/out" 2> "$T/err"
rc=$?
rm -rf "$pub"
if [ -n "${CR_SANITIZE:-}" ]; then
	echo "note: the unreadable row is not run under the sanitizers (their runtime is root's)"
else
	expect_eq "$rc:$(cat "$T/out")" "0:ran" "unreadable (as nobody): the program runs"
	expect_grep "^connrefuse: config error: .*secret.cfg: cannot read the file: Permission denied" "$T/err" \
		"unreadable (as nobody): one config error"
	tried=$((tried + 1))
fi
ok "$tried paths tried at start-up, $n as a reload target"
