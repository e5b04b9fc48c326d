# Hot reload: a looping process switches from refused to connected within
# 2 s of the file being replaced; a broken replacement is logged with
# file:line and the old rules keep working; unchanged rules keep their
# counters, changed ones start again; threads never see a half-applied set.
. "$(dirname "$0")/lib.sh"
P=$(start_listener)
cfg=$T/rules.cfg
put() { printf '%s\n' "$1" > "$cfg.new" && mv "$cfg.new" "$cfg"; } # atomic replace
log="log: { syslog = false; file = \"$T/file.log\"; rate = 0; };"
refuse="version = 1; $log rules = ( { name = \"r\"; port = $P; action = \"refuse\"; } );"
pass="version = 1; $log rules = ( { name = \"r\"; port = $P; action = \"pass\"; } );"
put "$refuse"

cat > "$T/loop.py" <<'PY'
import os, socket, sys, time
port, stop = int(sys.argv[1]), sys.argv[2]
while not os.path.exists(stop):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port)); r = "connected"
    except ConnectionRefusedError:
        r = "refused"
    s.close()
    print("%.3f %s" % (time.time(), r), flush=True)
    time.sleep(0.02)
PY
CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $PY "$T/loop.py" "$P" "$T/stop" > "$T/loop.out" 2> "$T/loop.err" &
PIDS="$PIDS $!"
wait_for grep -q refused "$T/loop.out" || fail "the loop never saw a refusal"
ok "the loop is refused"

# A broken file: logged with file and line; the old rules stay.
printf 'version = 1;\nrules = ( { name = "r"; port = %s; action = "refuse" ] );\n' "$P" > "$cfg.new" && mv "$cfg.new" "$cfg"
wait_for grep -q "config error: $cfg:2:" "$T/file.log" || { cat "$T/file.log"; fail "the broken file was not reported"; }
ok "a broken replacement is logged with file and line"
mark=$(wc -l < "$T/loop.out")
wait_for sh -c "[ \$(wc -l < $T/loop.out) -ge $((mark + 20)) ]" || fail "the loop stalled"
tail -n +"$((mark + 1))" "$T/loop.out" | grep -q connected && fail "the old rules did not stay"
ok "the old rules keep working after a broken replacement"

t0=$(date +%s.%N)
put "$pass"
wait_for grep -q connected "$T/loop.out" || fail "never switched to connected"
t1=$(grep -m 1 connected "$T/loop.out" | cut -d' ' -f1)
delay=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }')
awk -v d="$delay" 'BEGIN { exit !(d <= 2.0) }' || fail "switched after $delay s"
ok "switched from refused to connected $delay s after the file was replaced (<= 2 s)"
expect_grep "config reloaded: $cfg \\(1 rules\\)" "$T/file.log" "the reload is logged"
touch "$T/stop"

# Counters: an unchanged rule keeps counting; a changed one starts again.
cat > "$T/seq.py" <<'PY'
import os, socket, sys, time
port, n = int(sys.argv[1]), int(sys.argv[2])
out = ""
for i in range(n):
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port)); out += "c"
    except ConnectionRefusedError:
        out += "R"
    s.close()
    print(out[-1], flush=True)
    # wait for the test's go-ahead between attempts
    while not os.path.exists(sys.argv[3] + ".go%d" % (i + 1)) and i + 1 < n:
        time.sleep(0.01)
PY
first3="version = 1; $log rules = ( { name = \"f\"; port = $P; action = \"refuse\"; first = 3; } );"
first3b="version = 1; $log rules = ( { name = \"other\"; port = 1; action = \"refuse\"; }, { name = \"f\"; port = $P; action = \"refuse\"; first = 3; } );"
first4="version = 1; $log rules = ( { name = \"f\"; port = $P; action = \"refuse\"; first = 4; } );"
put "$first3"
CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $PY "$T/seq.py" "$P" 6 "$T/g" > "$T/seq.out" &
PIDS="$PIDS $!"
go() { touch "$T/g.go$1"; wait_for sh -c "[ \$(wc -l < $T/seq.out) -ge $(($1 + 1)) ]" || fail "attempt $1"; }
wait_for sh -c "[ \$(wc -l < $T/seq.out) -ge 1 ]"
go 1
# Two attempts made (R R). An unchanged rule f, with another rule added:
n=$(grep -c 'config reloaded' "$T/file.log")
put "$first3b"
sleep 1.1 # the library looks at the file at most once a second: let a second pass
go 2   # R (third attempt: counter kept at 2 -> 3)
wait_for sh -c "[ \$(grep -c 'config reloaded' $T/file.log) -gt $n ]" || fail "reload 2 not seen"
go 3   # c (fourth: the kept counter is past first = 3)
n=$(grep -c 'config reloaded' "$T/file.log")
put "$first4"
sleep 1.1
go 4   # R: rule changed, its counter starts again
wait_for sh -c "[ \$(grep -c 'config reloaded' $T/file.log) -gt $n ]" || fail "reload 3 not seen"
go 5
expect_eq "$(tr -d '\n' < "$T/seq.out")" "RRRcRR" "unchanged rule keeps its counter; a changed rule starts again"

# Threads connecting while the file flips between two rule sets: every
# logged decision is whole (rule a always refuses, rule b always passes).
A="version = 1; $log rules = ( { name = \"a\"; port = $P; action = \"refuse\"; } );"
B="version = 1; $log rules = ( { name = \"b\"; port = $P; action = \"log\"; } );"
rm -f "$T/file.log"
put "$A"
CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $HELPERS/threadloop 127.0.0.1 "$P" 3 8s > "$T/stress.out" &
stress=$!
PIDS="$PIDS $stress"
# Each flip waits until the one before it was taken (a reload is looked for
# at most once a second), so that both sets are in force in turn.
wait_for sh -c "grep -q ' result=' $T/file.log 2>/dev/null" || fail "the threads never connected"
for set in B A B A; do
	n=$(grep -c 'config reloaded' "$T/file.log")
	eval "put \"\$$set\""
	wait_for sh -c "[ \$(grep -c 'config reloaded' $T/file.log) -gt $n ]" || fail "a flip to $set was not taken"
done
wait $stress
cat "$T/stress.out"
expect_grep '^refused=[1-9][0-9]* connected=[1-9][0-9]* other=0$' "$T/stress.out" "both rule sets were in force, no other outcome"
bad=$(grep -E '^'"$STAMP"'result=' "$T/file.log" | grep -cvE '^'"$STAMP"'result=refused simulated=yes rule=a action=refuse |^'"$STAMP"'result=connected simulated=no rule=b action=log ')
expect_eq "$bad" 0 "no decision mixed the two rule sets ($(grep -c '^'"$STAMP"'result=' "$T/file.log") lines)"
reloads=$(grep -c 'config reloaded' "$T/file.log")
[ "$reloads" -ge 2 ] || fail "only $reloads reloads"
ok "$reloads reloads during the run"
