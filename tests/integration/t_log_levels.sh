# log.level, a rule's own log level, log.rate with its summary line, and the
# file and stderr sinks.
. "$(dirname "$0")/lib.sh"
P=$(start_listener)
C=$(closed_port)
run() { # run CONFIG-TEXT PORT N: N blocking connects under that config
	printf '%s\n' "$1" > "$T/c.cfg"
	rm -f "$T/file.log"
	CONNREFUSE_CONFIG=$T/c.cfg LD_PRELOAD=$PRELOAD $HELPERS/connloop 127.0.0.1 "$2" "$3" > "$T/loop.out" 2> "$T/stderr"
}
base="log: { syslog = false; file = \"$T/file.log\";"

run "version = 1; $base level = \"none\"; };" "$C" 3
[ ! -s "$T/file.log" ] || fail "level none wrote lines"
ok "level none: nothing logged"

run "version = 1; $base level = \"failures\"; };" "$P" 3
[ ! -s "$T/file.log" ] || fail "level failures logged successful connects"
ok "level failures: successful connects not logged"

run "version = 1; $base level = \"all\"; };" "$P" 3
expect_eq "$(grep -c '^'"$STAMP"'result=connected simulated=no action=pass ' "$T/file.log")" 3 "level all: successful connects logged"

run "version = 1; $base level = \"failures\"; };
rules = ( { name = \"web\"; dst = \"127.0.0.1\"; port = $P; action = \"log\"; } );" "$P" 2
expect_eq "$(grep -c '^'"$STAMP"'result=connected simulated=no rule=web action=log ' "$T/file.log")" 2 "action log: logged whatever log.level says"

run "version = 1; $base level = \"failures\"; };
rules = ( { name = \"quiet\"; port = $C; action = \"pass\"; log = \"none\"; } );" "$C" 2
[ ! -s "$T/file.log" ] || fail "a rule's log = none did not silence it"
ok "a rule's log = \"none\" silences known noise"

run "version = 1; $base level = \"failures\"; stderr = true; ident = \"myapp\"; };
rules = ( { name = \"r\"; port = $P; action = \"refuse\"; } );" "$P" 1
expect_grep "^myapp: result=refused simulated=yes rule=r " "$T/stderr" "stderr sink, prefixed with the ident"
expect_grep "^${STAMP}result=refused simulated=yes rule=r " "$T/file.log" "file sink: the bare line"

run "version = 1; dry_run = true; $base level = \"failures\"; };
rules = ( { name = \"d\"; port = $P; action = \"refuse\"; } );" "$P" 2
expect_grep '^refused=0 connected=2 ' "$T/loop.out" "dry run: the real connects go ahead"
expect_eq "$(grep -c '^'"$STAMP"'result=connected simulated=no rule=d action=refuse dry_run=yes ' "$T/file.log")" 2 "dry run: logged as action=refuse dry_run=yes with the real result"

# rate = 5: at most 5 lines a second; the rest counted in a summary line.
run "version = 1; $base level = \"failures\"; rate = 5; };
rules = ( { name = \"r\"; port = $P; action = \"refuse\"; } );" "$P" 50
lines=$(grep -c '^'"$STAMP"'result=refused' "$T/file.log")
suppressed=$(sed -n 's/^'"$STAMP"'result=suppressed count=\([0-9]*\) .*/\1/p' "$T/file.log" | awk '{ s += $1 } END { print s + 0 }')
cat "$T/file.log" | cut -c1-60
[ "$lines" -le 10 ] || fail "rate 5: $lines lines"
expect_eq "$((lines + suppressed))" 50 "rate 5: $lines lines written + $suppressed counted as suppressed = 50"
expect_grep '^'"$STAMP"'result=suppressed count=[0-9]+ dropped=0 pid=[0-9]+ uid=[0-9]+ comm=connloop$' "$T/file.log" "summary line"
