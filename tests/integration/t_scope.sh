# Schedules shared across processes (scope "run", "file", "process"), the
# generation `connrefuse reload` bumps, `connrefuse stats`, and a state
# file that cannot be used.
. "$(dirname "$0")/lib.sh"
GOLDEN_SKIP=1 # the lines are the schedules' (t_schedules); this test counts outcomes
P=$(start_listener)
# (lib.sh gives the test a private XDG_RUNTIME_DIR, $T/xdg: the state files.)
nolog='log: { syslog = false; level = "none"; };'
waitfor='for i in 1 2 3 4 5 6; do nc -z 127.0.0.1 '$P' && echo "connected at $i" && break; done'

cfg=$(config pg.cfg "version = 1; $nolog rules = ( { name = \"db\"; dst = \"127.0.0.1\"; port = $P; action = \"refuse\"; first = 3; } );")
out=$($CLI run -c "$cfg" -- sh -c "$waitfor")
expect_eq "$out" "connected at 4" "wait-for-it loop under run (scope run): connects at attempt 4"
out=$($CLI run --seccomp -c "$cfg" -- sh -c "$waitfor")
expect_eq "$out" "connected at 4" "the same under run --seccomp"
out=$(CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD sh -c "$waitfor")
expect_eq "$out" "connected at 4" "the same with plain LD_PRELOAD (scope file)"
$CLI stats "$cfg" > "$T/stats"
expect_grep '^db +file +4 +3$' "$T/stats" "stats: 4 attempts, 3 fired, scope file"
$CLI stats --json "$cfg" > "$T/stats.json"
expect_grep '"name": "db", "scope": "file", "attempts": 4, "fired": 3' "$T/stats.json" "stats --json"
# The counters of scope "file" persist across invocations; reload --reset
# starts them again (and the wait-for-it loop connects at 4 once more).
out=$(CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD sh -c "$waitfor")
expect_eq "$out" "connected at 1" "scope file, a second loop: the counters went on (connects at once)"
$CLI reload "$cfg" --reset || fail "reload --reset"
$CLI stats "$cfg" > "$T/stats"
expect_grep '^db +file +0 +0$' "$T/stats" "reload --reset: 0 attempts, 0 fired"
out=$(CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD sh -c "$waitfor")
expect_eq "$out" "connected at 4" "after reload --reset: connects at attempt 4 again"
$CLI reload "$cfg" --bogus 2> /dev/null
expect_eq "$?" 2 "reload --bogus: usage error"
$CLI match "$cfg" 127.0.0.1:$P --attempt 4 > "$T/match"
expect_grep 'scope "run" under connrefuse run, "file" otherwise' "$T/match" "match --attempt says the scope"

pcfg=$(config proc.cfg "version = 1; $nolog rules = ( { name = \"db\"; dst = \"127.0.0.1\"; port = $P; action = \"refuse\"; first = 3; scope = \"process\"; } );")
out=$($CLI run -c "$pcfg" -- sh -c "$waitfor")
expect_eq "$out" "" "scope process: every nc is on its first attempt, none connects"
$CLI match "$pcfg" 127.0.0.1:$P --attempt 4 > "$T/match"
expect_grep 'scope "process": each process counts its own attempts' "$T/match" "match names scope process"

if [ -z "${CR_SANITIZE:-}" ] && command -v psql > /dev/null; then
	qcfg=$(config psql.cfg "version = 1; $nolog rules = ( { name = \"pg\"; dst = \"127.0.0.1\"; port = $P; action = \"refuse\"; first = 3; } );")
	: > "$T/psql"
	for i in 1 2 3 4; do
		CONNREFUSE_CONFIG=$qcfg LD_PRELOAD=$PRELOAD psql "host=127.0.0.1 port=$P user=x dbname=x sslmode=disable connect_timeout=5" -c '' >> "$T/psql" 2>&1
	done
	expect_eq "$(grep -c 'Connection refused' "$T/psql")" 3 "psql four times against first = 3: refused three times"
	expect_grep 'expected authentication request from server' "$T/psql" "then the fourth reaches the server (an HTTP listener: psql's own protocol error)"
fi

# 16 processes x 1,000 connects against every = 10: 1,600 fired, exactly.
ecfg=$(config every.cfg "version = 1; $nolog rules = ( { name = \"ten\"; dst = \"127.0.0.1\"; port = $P; action = \"refuse\"; every = 10; } );")
many="for k in \$(seq 16); do $HELPERS/connloop 127.0.0.1 $P 1000 > $T/loop.\$k & done; wait"
CONNREFUSE_CONFIG=$ecfg LD_PRELOAD=$PRELOAD sh -c "$many"
refused=$(cat "$T"/loop.* | sed -n 's/^refused=\([0-9]*\) .*/\1/p' | paste -sd+ | bc)
expect_eq "$refused" 1600 "preload, 16 x 1,000 connects, every = 10: 1,600 refused"
$CLI stats "$ecfg" > "$T/stats"
expect_grep '^ten +file +16000 +1600$' "$T/stats" "stats: 16,000 attempts, 1,600 fired"
rm -f "$T"/loop.*
$CLI run --seccomp -c "$ecfg" -- sh -c "$many; $CLI stats $ecfg > $T/stats.run"
refused=$(cat "$T"/loop.* | sed -n 's/^refused=\([0-9]*\) .*/\1/p' | paste -sd+ | bc)
expect_eq "$refused" 1600 "run --seccomp, 16 x 1,000 connects, every = 10: 1,600 refused"
expect_grep '^ten +run +16000 +1600$' "$T/stats.run" "stats inside the run: scope run, 1,600 fired"

# A rule change seen by the very next connect, 1,000 times in a row.
rcfg=$(config reload.cfg "version = 1; $nolog rules = ( );")
$CLI reload "$rcfg" || fail "reload"
out=$(CONNREFUSE_CONFIG=$rcfg LD_PRELOAD=$PRELOAD $PY "$HERE/reloadloop.py" "$CLI" "$rcfg" "$P" 1000)
expect_eq "$out" 1000 "preload: a reload then at once a connect: the new rule, 1,000 times in a row"
out=$($CLI run --seccomp -c "$rcfg" -- $PY "$HERE/reloadloop.py" "$CLI" "$rcfg" "$P" 1000)
expect_eq "$out" 1000 "run --seccomp: the same, 1,000 times in a row"

# A state file that cannot be used: the program runs, one config error,
# the schedule counts per process.
scfg=$(config bad.cfg "version = 1; log: { syslog = false; stderr = true; level = \"none\"; }; rules = ( { name = \"db\"; dst = \"127.0.0.1\"; port = $P; action = \"refuse\"; first = 1; } );")
$CLI reload "$scfg"
state=$(ls -t "$T"/xdg/connrefuse-file-* | head -n 1)
bad_state() { # bad_state WHAT: the program runs, one config error, per-process counting
	out=$(CONNREFUSE_CONFIG=$scfg LD_PRELOAD=$PRELOAD $HELPERS/connloop 127.0.0.1 "$P" 2 seq 2> "$T/err" | head -n 1)
	expect_eq "$out" "Rc" "$1: the program runs, the schedule counts per process"
	expect_eq "$(grep -c 'config error: the shared schedule state' "$T/err")" 1 "$1: one config error"
}
cp "$state" "$T/state.good"
truncate -s 100 "$state"
bad_state "a truncated state file"
rm -f "$state"; mkdir "$state"
bad_state "a folder in its place"
rmdir "$state"; cp "$T/state.good" "$state"; chmod 600 "$state"
if [ "$(id -u)" = 0 ]; then
	chown nobody "$state"
	bad_state "another user's state file"
	chown 0 "$state"
fi
chmod 644 "$state"
bad_state "a state file others can read"
chmod 600 "$state"
# The header, each byte flipped, in a new process each time: its magic,
# version and slot count (bytes 0-15) are checked, so one config error and
# per-process counting; the generation (16-23) is any number (a flip reads
# as a reload); the rest is reserved.
for i in $(seq 0 63); do
	cp "$T/state.good" "$state"
	$PY -c "import sys; f=open(sys.argv[1],'r+b'); f.seek($i); b=f.read(1); f.seek($i); f.write(bytes([b[0]^255]))" "$state"
	out=$(CONNREFUSE_CONFIG=$scfg LD_PRELOAD=$PRELOAD $HELPERS/connloop 127.0.0.1 "$P" 2 seq 2> "$T/err" | head -n 1)
	[ "$out" = Rc ] || fail "header byte $i flipped: the program ran, but its schedule said '$out', not 'Rc'"
	errors=$(grep -c 'config error: the shared schedule state' "$T/err")
	want=0; [ $i -ge 16 ] || want=1
	[ "$errors" = $want ] || fail "header byte $i flipped: $errors config errors, not $want"
done
ok "each of the 64 header bytes flipped: the program runs, its schedule right; one config error for each of bytes 0-15, none for the others"
cp "$T/state.good" "$state"
size=$(stat -c %s "$state")
out=$(CONNREFUSE_CONFIG=$scfg LD_PRELOAD=$PRELOAD $PY "$HERE/scopeflip.py" "$state" "$P" 2> "$T/err")
expect_eq "$out" "$size" "every byte of a mapped state flipped in turn, a connect after each: the program runs"

# The documented shell example.
out=$(CONNREFUSE=$CLI sh "$HERE/../../examples/wait-for-it.sh" "$P" 2> /dev/null)
expect_eq "$out" "connected at attempt 4" "examples/wait-for-it.sh: connects at attempt 4"
