# Compiled rules: `compile` writes a file that check, match, run and the
# preloaded library take as they take the text; real programs see the same
# refusals from either form; a compiled file replaced under a running
# program is swapped in (counters of unchanged rules carried over); a big
# changed text file is not reloaded inside a connect; a truncated, corrupt
# or foreign compiled file is a config error, never a crash, and as a
# reload the rules in force stay.
. "$(dirname "$0")/lib.sh"
GOLDEN_SKIP=1 # the lines hold temporary paths and sizes
P=$(start_listener)
CLI=$CR_BUILD/connrefuse
log="log: { syslog = false; file = \"$T/file.log\"; rate = 0; level = \"all\"; };"
text=$(config rules.cfg "version = 1; seed = 5; $log
rules = (
  { name = \"db\"; dst = [\"127.0.0.1\", \"db.test\"]; port = $P; action = \"refuse\"; first = 2; },
  { name = \"sock\"; path = \"/run/nothing/*.sock\"; action = \"fail\"; errno = \"EACCES\"; },
  { name = \"proc\"; dst = \"10.0.0.0/8\"; process = \"python*\"; action = \"drop\"; }
);")

"$CLI" compile "$text" > "$T/compile.out" || fail "compile failed"
expect_grep "^$text: 3 rules compiled into $text.compiled \([0-9]+ bytes\)$" "$T/compile.out" "compile says what it wrote"
[ -f "$text.compiled" ] && [ "$(od -An -c -N7 "$text.compiled" | tr -d ' ')" = "CRRULES" ] || fail "no compiled file"
ok "the compiled file begins with its magic number"
ls "$T" | grep -q '\.tmp-' && fail "compile left its temporary file"
ok "compile leaves no temporary file"

# check: the same rules, printed the same way; the checksum verified.
"$CLI" check "$text" | tail -n +2 > "$T/check.text"
"$CLI" check "$text.compiled" > "$T/check.compiled.full" || fail "check of the compiled file failed"
expect_grep "^# compiled, format 4: 3 rules, [0-9]+ bytes, source text hash [0-9a-f]{16}, checksum verified$" "$T/check.compiled.full" \
	"check verifies a compiled file"
# A format 1 file (the first release's; the corpus keeps the examples
# compiled by it) is still read, and check says to compile it again.
"$CLI" check "$(dirname "$0")/../fuzz/corpus/fuzz_image/chaos" > "$T/check.format1" 2> "$T/check.format1.err" \
	|| fail "check of a format 1 file failed"
expect_grep "^# compiled, format 1: 4 rules, [0-9]+ bytes, source text hash [0-9a-f]{16}, checksum verified$" \
	"$T/check.format1" "a format 1 file is read and verified"
expect_grep "is of format 1, an earlier connrefuse's; compile its source again for format 4" "$T/check.format1.err" \
	"check says a format 1 file would gain from compiling again"
tail -n +3 "$T/check.compiled.full" > "$T/check.compiled"
cmp -s "$T/check.text" "$T/check.compiled" || { diff "$T/check.text" "$T/check.compiled"; fail "check prints the forms differently"; }
ok "check prints a compiled file's rules as it prints the text's"

# match: the same answer from both.
for form in "$text" "$text.compiled"; do
	"$CLI" match "$form" 127.0.0.1:"$P" --attempt 3 | tail -n +2 > "$T/match.$(basename "$form")"
done
cmp -s "$T/match.rules.cfg" "$T/match.rules.cfg.compiled" || { diff "$T/match.rules.cfg" "$T/match.rules.cfg.compiled"; fail "match differs"; }
ok "match answers the same from both forms"

# Real programs: the same outcome and the same log line from either form.
cat > "$T/client.py" <<'PY'
import socket, sys
for _ in range(3):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", int(sys.argv[1]))); print("connected")
    except OSError as e:
        print("error", e.errno)
    s.close()
PY
for form in "$text" "$text.compiled"; do
	: > "$T/file.log"
	CONNREFUSE_CONFIG=$form LD_PRELOAD=$PRELOAD $PY "$T/client.py" "$P" > "$T/py.$(basename "$form")" 2>&1
	sed -e "s/^$STAMP//" -e 's/pid=[0-9]*/pid=N/' "$T/file.log" | grep -v "^config" > "$T/log.$(basename "$form")"
done
expect_eq "$(cat "$T/py.rules.cfg.compiled")" "$(printf 'error 111\nerror 111\nconnected')" "python3 is refused twice, then connects (compiled)"
cmp -s "$T/py.rules.cfg" "$T/py.rules.cfg.compiled" || fail "python3's output differs between the forms"
cmp -s "$T/log.rules.cfg" "$T/log.rules.cfg.compiled" || { diff "$T/log.rules.cfg" "$T/log.rules.cfg.compiled"; fail "the log lines differ"; }
expect_grep "result=refused simulated=yes rule=db action=refuse .*errno=ECONNREFUSED" "$T/log.rules.cfg.compiled" \
	"the compiled rules log the refusal as the text's do"
if have_curl; then
	# A state of its own: python3 used up first = 2 in the file's (scope "file").
	mkdir -m 700 "$T/xdg-curl"
	XDG_RUNTIME_DIR=$T/xdg-curl CONNREFUSE_CONFIG=$text.compiled LD_PRELOAD=$PRELOAD curl -sS http://127.0.0.1:"$P"/ > "$T/curl.out" 2>&1
	expect_grep "Failed to connect to 127.0.0.1 port $P" "$T/curl.out" "curl is refused by the compiled rules"
fi

# run: a compiled -c, with --refuse rules put before it (the generated file
# is compiled too), and under --seccomp.
mkdir "$T/runtmp"
TMPDIR=$T/runtmp "$CLI" run -c "$text.compiled" --refuse 127.0.0.1:1 -- $PY -c '
import os, socket
print(open(os.environ["CONNREFUSE_CONFIG"], "rb").read(7))
s = socket.socket()
try:
    s.connect(("127.0.0.1", 1))
except OSError as e:
    print("error", e.errno)' > "$T/run.out" 2>&1
expect_eq "$(cat "$T/run.out")" "$(printf "b'CRRULES'\nerror 111")" "run -c FILE.compiled --refuse: a compiled merge, applied"
expect_eq "$(ls -A "$T/runtmp")" "" "run leaves nothing of its merged compiled rules behind"
if "$CLI" run --seccomp -- true 2> /dev/null; then
	"$CLI" run --seccomp -c "$text.compiled" -- $PY "$T/client.py" "$P" > "$T/seccomp.out" 2>&1
	expect_eq "$(cat "$T/seccomp.out")" "$(printf 'error 111\nerror 111\nconnected')" "run --seccomp takes a compiled file"
fi

# Hot reload of a compiled file under a running program: the new rules in
# force within the once-a-second look, the counter of the unchanged rule
# carried over (first = 2 counts on), a changed rule starting again.
# loop.py PORT STOP [gated]: connects until STOP exists, a line an outcome
# (R refused, c connected); gated: each attempt N waits for STOP.goN.
cat > "$T/loop.py" <<'PY'
import os, socket, sys, time
port, stop, gated = int(sys.argv[1]), sys.argv[2], len(sys.argv) > 3
i = 0
while not os.path.exists(stop):
    i += 1
    while gated and not os.path.exists(stop + ".go%d" % i) and not os.path.exists(stop):
        time.sleep(0.01)
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port)); r = "c"
    except ConnectionRefusedError:
        r = "R"
    s.close()
    print(r, flush=True)
    if not gated:
        time.sleep(0.02)
PY
live=$T/live.compiled
cp "$text.compiled" "$live"
CONNREFUSE_CONFIG=$live LD_PRELOAD=$PRELOAD $PY "$T/loop.py" "$P" "$T/stop" gated > "$T/seq.out" &
PIDS="$PIDS $!"
go() { touch "$T/stop.go$1"; wait_for sh -c "[ \$(wc -l < $T/seq.out) -ge $1 ]" || fail "attempt $1"; }
go 1 # R: attempt 1 of db (first = 2)
: > "$T/file.log"
changed=$(config changed.cfg "version = 1; seed = 5; $log
rules = (
  { name = \"added\"; port = 1; action = \"refuse\"; },
  { name = \"db\"; dst = [\"127.0.0.1\", \"db.test\"]; port = $P; action = \"refuse\"; first = 2; },
  { name = \"proc\"; dst = \"10.0.0.0/8\"; process = \"python*\"; action = \"refuse\"; }
);")
"$CLI" compile "$changed" -o "$live" > /dev/null || fail "compile over the live file failed"
cmp -s "$live.previous" "$text.compiled" || fail "the replaced file was not kept as $live.previous"
ok "compile keeps the file it replaced linked, as OUT.previous"
n=2 # (wait_for uses i)
until grep -q "config reloaded: $live (3 rules)" "$T/file.log"; do
	go $n
	n=$((n + 1))
	[ $n -lt 400 ] || fail "the compiled file was never reloaded"
	sleep 0.02
done
ok "a compiled file renamed over the live one is reloaded (after $((n - 2)) more connects)"
go $n
grep -c R "$T/seq.out" | grep -qx 2 || { cat "$T/seq.out"; fail "the unchanged rule's counter did not carry over (first = 2 refused more than 2 attempts)"; }
ok "the unchanged rule's counter carried over the reload: exactly 2 refusals in all"
touch "$T/stop"

# A text file past the reload bound is not reloaded inside a connect.
big=$T/big.cfg
{ printf 'version = 1; %s\nrules = (\n  { name = "r"; port = %s; action = "refuse"; }' "$log" "$P"
  i=0; while [ $i -lt 1200 ]; do printf ',\n  { name = "pad%d"; dst = "10.9.%d.%d"; port = 9; action = "refuse"; }' $i $((i / 250)) $((i % 250)); i=$((i + 1)); done
  printf '\n);\n'; } > "$big"
[ "$(wc -c < "$big")" -gt 65536 ] || fail "the big file is not big"
"$CLI" check "$big" > /dev/null 2> "$T/check.big"
expect_grep "note: $big is [0-9]+ bytes of text, more than the 64 KiB a running program reloads" "$T/check.big" \
	"check says a text file is past the reload bound"
: > "$T/file.log"
CONNREFUSE_CONFIG=$big LD_PRELOAD=$PRELOAD $PY "$T/loop.py" "$P" "$T/stop2" > "$T/loop.out" 2> "$T/loop.err" &
PIDS="$PIDS $!"
wait_for grep -q R "$T/loop.out" || fail "the big text file was not loaded at start-up"
ok "a big text file loads at start-up"
sed 's/action = "refuse"; }$/action = "pass"; }/' "$big" | sed '3s/"refuse"/"pass"/' > "$big.new" && mv "$big.new" "$big"
wait_for grep -q "too big to reload inside a connect" "$T/file.log" || { cat "$T/file.log"; fail "no line about the big text file"; }
expect_grep "config error: $big: changed, but is too big to reload inside a connect \([0-9]+ bytes of text; a reload parses up to 64 KiB\): compile it \(connrefuse compile $big\).*; the rules loaded before stay in force" \
	"$T/file.log" "a changed big text file is not reloaded: one line says to compile it"
mark=$(wc -l < "$T/loop.out")
wait_for sh -c "[ \$(wc -l < $T/loop.out) -ge $((mark + 10)) ]" || fail "the loop stalled"
tail -n +"$((mark + 1))" "$T/loop.out" | grep -q c && fail "the rules in force did not stay"
ok "the rules in force stay"
touch "$T/stop2"

# Bad compiled files: a config error naming the file, the program runs;
# strict mode stops it; as a reload, the rules in force stay.
good=$text.compiled
size=$(wc -c < "$good")
head -c $((size / 2)) "$good" > "$T/truncated.compiled"
{ head -c 8 "$good"; printf '\377\377\377\377'; tail -c +13 "$good"; } > "$T/version.compiled"
{ head -c 12 "$good"; printf '\001\002\003\004'; tail -c +17 "$good"; } > "$T/layout.compiled"
{ head -c 100 "$good"; printf 'X'; tail -c +102 "$good"; } > "$T/table.compiled"
{ head -c $((size - 30)) "$good"; printf 'X'; tail -c +$((size - 28)) "$good"; } > "$T/body.compiled"
for bad in truncated version layout table; do
	CONNREFUSE_CONFIG=$T/$bad.compiled LD_PRELOAD=$PRELOAD $PY "$T/client.py" "$P" > "$T/bad.out" 2> "$T/bad.err"
	expect_eq "$(cat "$T/bad.out")" "$(printf 'connected\nconnected\nconnected')" "$bad compiled file: the program runs, with no rules"
	case $bad in
	truncated) why="has [0-9]+ bytes where its header says [0-9]+: truncated" ;;
	version) why="is a compiled rules file of format 4294967295; this connrefuse reads formats 1 to 4" ;;
	layout) why="was compiled on another kind of machine" ;;
	table) why="has a corrupt section table" ;;
	esac
	expect_grep "connrefuse: config error: $T/$bad.compiled: $why" "$T/bad.err" "$bad compiled file: a config error that says why"
	"$CLI" check "$T/$bad.compiled" > /dev/null 2> "$T/bad.check" && fail "check accepted the $bad file"
	expect_grep "$why" "$T/bad.check" "check refuses the $bad file"
done
"$CLI" check "$T/body.compiled" > /dev/null 2> "$T/body.check" && fail "check accepted a changed byte"
expect_grep "is corrupt: its checksum does not match its content" "$T/body.check" "check finds a changed byte in a compiled file's body"
CONNREFUSE_STRICT=1 CONNREFUSE_CONFIG=$T/truncated.compiled LD_PRELOAD=$PRELOAD $PY -c 'print("ran")' > "$T/strict.out" 2>&1
expect_eq "$?" 78 "strict mode stops the program on a truncated compiled file"

: > "$T/file.log"
cp "$good" "$live"
rm -f "$T/stop3"
CONNREFUSE_CONFIG=$live LD_PRELOAD=$PRELOAD $PY "$T/loop.py" "$P" "$T/stop3" > "$T/loop3.out" 2>/dev/null &
PIDS="$PIDS $!"
wait_for grep -q c "$T/loop3.out" || fail "the loop never connected" # db: first = 2 is over
cp "$T/truncated.compiled" "$live.new" && mv "$live.new" "$live"
wait_for grep -q "config error: $live: has" "$T/file.log" || { cat "$T/file.log"; fail "the truncated replacement was not reported"; }
ok "a truncated compiled replacement is reported"
cp "$T/table.compiled" "$live.new" && mv "$live.new" "$live"
wait_for grep -q "config error: $live: has a corrupt section table" "$T/file.log" || fail "the corrupt replacement was not reported"
ok "a corrupt compiled replacement is reported; the loop goes on"
kill -0 "$(echo $PIDS | awk '{ print $NF }')" || fail "the program died"
ok "the program lives on with the rules it had"
touch "$T/stop3"
