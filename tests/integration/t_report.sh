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
