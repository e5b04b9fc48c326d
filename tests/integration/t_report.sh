# connrefuse report over the log of a run prints counts equal to the
# refusals the run made, simulated and real apart.
. "$(dirname "$0")/lib.sh"
P=$(start_listener)
C=$(closed_port)
cfg=$(config rules.cfg "version = 1;
log: { syslog = false; file = \"$T/file.log\"; rate = 0; };
rules = ( { name = \"db\"; dst = \"127.0.0.1\"; port = $P; action = \"refuse\"; first = 7; } );")
CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $HELPERS/connloop 127.0.0.1 "$P" 10 > "$T/a"
CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $HELPERS/connloop 127.0.0.1 "$C" 3 > "$T/b"
expect_grep '^refused=7 connected=3 ' "$T/a" "the run: 7 simulated refusals"
expect_grep '^refused=3 connected=0 ' "$T/b" "the run: 3 real refusals"
"$CLI" report "$T/file.log" > "$T/report"
cat "$T/report"
expect_grep '^events: 10$' "$T/report" "10 events"
expect_grep '^  refused +10  \(simulated 7, real 3\)$' "$T/report" "refused: simulated 7, real 3"
expect_grep "^  127\\.0\\.0\\.1:$P +7 +0 +0$" "$T/report" "by destination: P"
expect_grep "^  127\\.0\\.0\\.1:$C +0 +3 +0$" "$T/report" "by destination: the closed port"
expect_grep '^  db +7 +0 +0$' "$T/report" "by rule"
expect_grep '^  connloop +7 +3 +0$' "$T/report" "by process"
expect_grep '^  ECONNREFUSED +7 +3 +0$' "$T/report" "by error"
# Syslog text with prefixes, from standard input, as JSON.
sed 's/^/Nov 24 18:00:00 host connrefuse[1]: /' "$T/file.log" | "$CLI" report --json - > "$T/json"
$PY -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["events"] == 10, d
assert d["results"]["refused"] == {"simulated": 7, "real": 3}, d
assert {"key": "db", "simulated": 7, "real": 0, "passed": 0} in d["by_rule"], d
' "$T/json" || fail "report --json"
ok "report --json over syslog-prefixed lines from stdin"
expect_grep '^  0 +7 +3 +0$' "$T/report" "by user: uid 0 (root ran the loops)"

# Lines from many machines, as rsyslog writes them: an RFC 3164 header (and
# the traditional file format, which is that header without its priority),
# an RFC 5424 header, RSYSLOG_FileFormat's ISO time first; logfmt and JSON
# bodies (log.format); bare lines of the file sink. Counted per machine.
jcfg=$(config json.cfg "version = 1;
log: { syslog = false; file = \"$T/json.log\"; format = \"json\"; rate = 0; };
rules = ( { name = \"db\"; dst = \"127.0.0.1\"; port = $P; action = \"refuse\"; first = 4; } );")
CONNREFUSE_CONFIG=$jcfg LD_PRELOAD=$PRELOAD $HELPERS/connloop 127.0.0.1 "$P" 4 > /dev/null
$PY -c '
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    assert list(d)[:8] == ["time", "machine", "result", "simulated", "rule", "action", "pid", "uid"], d
    assert isinstance(d["pid"], int) and isinstance(d["code"], int) and d["hex"] == "0x6f", d
' "$T/json.log" || fail "log.format = json: one JSON object a line, keys in order, numbers as numbers"
ok "log.format = json: $(head -c 100 "$T/json.log")..."
# Syslog lines as syslog has them: the event's keys after the header, no
# time= and machine= (the header has both), which log.file's lines start with.
sed "s/^$STAMP//" "$T/file.log" > "$T/syslog.body"
sed 's/^{"time":"[^"]*","machine":"[^"]*",/{/' "$T/json.log" > "$T/syslog.json"
{
	sed 's/^/<28>Dec  1 18:00:00 alpha connrefuse[1]: /' "$T/syslog.body"                 # 10 lines, RFC 3164
	sed 's/^/Dec  1 18:00:01 beta connrefuse[2]: /' "$T/syslog.body" | head -n 4           # 4, traditional file format
	sed 's/^/<28>1 2026-12-01T18:00:02.5Z gamma connrefuse 3 - - /' "$T/syslog.json"       # 4, RFC 5424, JSON
	sed 's/^/2026-12-01T18:00:03.123+00:00 delta connrefuse[4]: /' "$T/syslog.json" | head -n 1  # 1, ISO time first
	head -n 2 "$T/file.log"                                                          # 2, log.file's: machine=
	head -n 1 "$T/syslog.body"                                                       # 1, bare, no machine
	echo 'Dec  1 18:00:04 alpha kernel: something else entirely'                      # not an event
} > "$T/fleet.log"
"$CLI" report "$T/fleet.log" > "$T/fleet.report"
for m in "alpha 10" "beta 4" "gamma 4" "delta 1" "$(uname -n) 2" "\\(no header\\) 1"; do
	name=${m% *} n=${m##* }
	grep -qE "^  $name +[0-9]+ +[0-9]+ +[0-9]+$" "$T/fleet.report" || { cat "$T/fleet.report"; fail "by machine: no row for $name"; }
	got=$(grep -E "^  $name +[0-9]+ +[0-9]+ +[0-9]+$" "$T/fleet.report" | awk '{ print $(NF-2) + $(NF-1) + $NF }')
	expect_eq "$got" "$n" "by machine: $name $n lines"
done
expect_grep '^events: 22$' "$T/fleet.report" "22 events over six machines, one line that is not an event"
expect_grep '^lines that are not connrefuse events: 1$' "$T/fleet.report" "the kernel's line is counted apart"

# Prometheus: read back by prometheus_client's own parser of the text format.
"$CLI" report --prometheus "$T/fleet.log" > "$T/metrics"
$PY -c '
import sys
from prometheus_client.parser import text_string_to_metric_families
fams = {f.name: f for f in text_string_to_metric_families(open(sys.argv[1]).read())}
ev = fams["connrefuse_events"]
assert ev.type == "counter", ev.type
total = sum(s.value for s in ev.samples if s.name == "connrefuse_events_total")
assert total == 22, total
for s in ev.samples:
    assert set(s.labels) == {"result", "simulated", "rule", "errno", "comm"}, s.labels
sim = sum(s.value for s in ev.samples if s.labels["simulated"] == "yes" and s.labels["rule"] == "db")
assert sim == 7 + 4 + 4 + 1 + 2 + 1, sim
assert fams["connrefuse_report_other_lines"].samples[0].value == 1
print(len(ev.samples), "label sets")
' "$T/metrics" > "$T/prom.out" || { cat "$T/metrics"; fail "report --prometheus: not read back"; }
ok "report --prometheus: read back by prometheus_client ($(cat "$T/prom.out")), 22 events"

# A dry run says what each action would have done, by its action.
for a in refuse:refused fail:failed drop:dropped reset:reset close:closed stall:stalled pass:shaped; do
	echo "result=connected simulated=no rule=r-${a%%:*} action=${a%%:*} dry_run=yes pid=1 uid=0 comm=x dst=127.0.0.1:9 proto=tcp"
done > "$T/dry.log"
"$CLI" report "$T/dry.log" > "$T/dry.report"
rm "$T/dry.log" # (made here, not by a program: not the golden gate's)
for a in refuse:refused fail:failed drop:dropped reset:reset close:closed stall:stalled pass:shaped; do
	expect_grep "^  r-${a%%:*} would have ${a#*:} 1 time \\(really: 0 failed, 1 connected\\)$" "$T/dry.report" "report: a dry run of action ${a%%:*} would have ${a#*:}"
done
