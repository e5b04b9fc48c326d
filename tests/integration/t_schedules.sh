# Schedules in real processes (the seeded runs: scope "process", each run
# alone; t_scope has the shared scopes): first = 3 against a sequential client; exact
# counters under 8 threads; a seeded probability replayed attempt by
# attempt, and an unseeded one that differs between runs.
. "$(dirname "$0")/lib.sh"
P=$(start_listener)
loop() { # loop CONFIG-TEXT ARGS...: connloop under that config
	printf '%s\n' "$1" > "$T/c.cfg"; shift
	CONNREFUSE_CONFIG=$T/c.cfg LD_PRELOAD=$PRELOAD "$@"
}
nolog='log: { syslog = false; };'

out=$(loop "version = 1; $nolog rules = ( { name = \"f\"; port = $P; action = \"refuse\"; first = 3; } );" \
	$HELPERS/connloop 127.0.0.1 "$P" 5 seq | head -n 1)
expect_eq "$out" "RRRcc" "first = 3: refused x3, then connected x2"

out=$(loop "version = 1; $nolog rules = ( { name = \"f\"; port = $P; action = \"refuse\"; first = 100; } );" \
	$HELPERS/threadloop 127.0.0.1 "$P" 8 1000)
expect_eq "$out" "refused=100 connected=7900 other=0" "first = 100 under 8 threads x 1,000 connects: exactly 100 refused"

out=$(loop "version = 1; $nolog rules = ( { name = \"e\"; port = $P; action = \"refuse\"; every = 4; after = 2; } );" \
	$HELPERS/connloop 127.0.0.1 "$P" 12 seq | head -n 1)
expect_eq "$out" "cccRcccRcccR" "every = 4 with after = 2"

seeded="version = 1; seed = 7; $nolog rules = ( { name = \"p\"; port = $P; action = \"refuse\"; probability = 0.3; scope = \"process\"; } );"
loop "$seeded" $HELPERS/connloop 127.0.0.1 "$P" 1000 seq > "$T/run1"
loop "$seeded" $HELPERS/connloop 127.0.0.1 "$P" 1000 seq > "$T/run2"
[ "$(head -n 1 "$T/run1")" = "$(head -n 1 "$T/run2")" ] || fail "two seeded runs differ"
ok "seed = 7: two runs of 1,000 connects give the identical sequence"
refused=$(sed -n 's/^refused=\([0-9]*\) .*/\1/p' "$T/run1")
[ "$refused" -ge 250 ] && [ "$refused" -le 350 ] || fail "refused $refused of 1000 at p = 0.3"
ok "seed = 7: refused $refused of 1,000 (0.25-0.35)"

unseeded="version = 1; $nolog rules = ( { name = \"p\"; port = $P; action = \"refuse\"; probability = 0.3; scope = \"process\"; } );"
loop "$unseeded" $HELPERS/connloop 127.0.0.1 "$P" 1000 seq > "$T/run3"
loop "$unseeded" $HELPERS/connloop 127.0.0.1 "$P" 1000 seq > "$T/run4"
[ "$(head -n 1 "$T/run3")" != "$(head -n 1 "$T/run4")" ] || fail "two unseeded runs are identical"
ok "without seed: two runs differ"
