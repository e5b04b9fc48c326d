# Stress: 16 threads x 10,000 connects while the config file is replaced
# every 10 ms (every seventh version broken) and the process forks every
# 100 ms: no crash, no deadlock, no descriptor or memory growth, counters
# exact across reloads, and every log line whole. Then the fork-while-
# logging regression: forks every millisecond while other threads are in the
# middle of writing log lines; every child must log its own line and exit.
# Which lines a storm of reloads leaves depends on timing: not golden.
GOLDEN_SKIP=1
. "$(dirname "$0")/lib.sh"
C=$(closed_port)
# scope = "process" (here and in stress.c's versions): the forked children
# connect too, and must not eat the parent's count (shared scopes: t_scope).
cfg=$T/stress.cfg
export STRESS_LOG=$T/stress.log
first=40000
put_config() {
	printf 'version = 1;\nlog: { syslog = false; file = "%s"; rate = 0; };\nrules = ( { name = "limited"; dst = "127.0.0.1"; port = %s; action = "fail"; errno = "ENETDOWN"; first = %s; scope = "process"; } );\n' \
		"$STRESS_LOG" "$C" "$1" > "$cfg"
}
put_config $first
CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $HELPERS/stress "$cfg" "$C" 16 10000 $first 100 > "$T/out" 2> "$T/err" ||
	fail "the stress run failed (exit $?)"
cat "$T/out"
set -- $(sed 's/[a-z_]*=/ /g; s/->/ /' "$T/out")
pid=$1 total=$2 simulated=$3 real=$4 other=$5 forks=$6 bad=$7 fds_before=$8 fds_after=$9
shift 9
rss=$1 versions=$2
[ "$total" -ge $((16 * 10000 + 2)) ] || fail "only $total connects"
expect_eq "$simulated $real $other" "$first $((total - first)) 0" "counters exact across reloads: $first simulated of $total"
expect_eq "$bad" 0 "every one of $forks forked children connected, logged and exited"
[ "$forks" -ge 3 ] || fail "only $forks forks"
expect_eq "$fds_after" "$fds_before" "no descriptor left open ($fds_before before and after)"
if [ -n "${CR_SANITIZE:-}" ]; then
	echo "note: RSS growth ($rss KiB) not bounded under the sanitizers, whose shadow memory grows with the run"
else
	[ "$rss" -lt 16384 ] || fail "RSS grew by $rss KiB"
	ok "RSS grew by $rss KiB over the run (bound 16 MiB)"
fi
[ "$versions" -ge 50 ] || fail "only $versions versions of the file written"
reloads=$(grep -c '^'"$STAMP"'config reloaded' "$STRESS_LOG")
[ "$reloads" -ge 2 ] || fail "fewer than two reloads happened"
ok "$versions versions of the file written, $reloads reloads taken"
n=$(grep -c "^${STAMP}result=failed simulated=yes rule=limited action=fail pid=$pid uid=[0-9]* comm=stress dst=127\\.0\\.0\\.1:$C proto=tcp errno=ENETDOWN code=100 hex=0x64 wsa=WSAENETDOWN wsa_code=10050 wsa_hex=0x2742 desc=\"Network is down\" hint=\"[^\"]*\"\$" "$STRESS_LOG")
expect_eq "$n" "$first" "one whole log line for each simulated failure"
n=$(grep -c "^${STAMP}result=refused simulated=no action=pass pid=$pid uid=[0-9]* comm=stress dst=127\\.0\\.0\\.1:$C proto=tcp errno=ECONNREFUSED code=111 hex=0x6f wsa=WSAECONNREFUSED wsa_code=10061 wsa_hex=0x274d desc=\"Connection refused\" hint=\"[^\"]*\"\$" "$STRESS_LOG")
expect_eq "$n" "$((total - first))" "one whole log line for each real refusal"
others=$(grep -v "pid=$pid " "$STRESS_LOG" | grep -cvE '^'"$STAMP"'(config (reloaded|error): .*|result=(failed|refused) simulated=(yes|no) .* comm=stress dst=127\.0\.0\.1:'"$C"' proto=tcp errno=E[A-Z]+ .* hint="[^"]*")$')
expect_eq "$others" 0 "no torn or mixed line among the children's and the reload messages"

# Fork while logging: 4 threads log real refusals without pause; the main
# thread forks every millisecond. A lock held across a fork would leave a
# child stuck (the alarm makes that a failure).
: > "$STRESS_LOG"
put_config 1
CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $HELPERS/stress "$cfg" "$C" 4 20000 1 1 > "$T/out" 2> "$T/err" ||
	fail "the fork-while-logging run failed (exit $?)"
cat "$T/out"
set -- $(sed 's/[a-z_]*=/ /g; s/->/ /' "$T/out")
[ "$6" -ge 50 ] || fail "only $6 forks"
expect_eq "$7" 0 "fork while other threads log: all $6 children logged and exited"
children=$(grep -c "^${STAMP}result=refused simulated=no action=pass pid=[0-9]* uid=[0-9]* comm=stress " "$STRESS_LOG")
expect_eq "$children" "$(($2 - 1 + $6))" "every real refusal logged, the children's included"
