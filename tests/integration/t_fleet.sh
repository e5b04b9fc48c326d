# A fleet through real rsyslog forwarding: two "machines" (each an rsyslogd
# with its own hostname and its own /dev/log, in its own mount namespace)
# receive the lines of preloaded programs and forward them over TCP, RFC
# 5424, to a third rsyslogd, the collector, which writes one file.
# connrefuse report on that file gives, per machine, exactly the counts each
# machine's programs made. Then the collector is stopped for a while: the
# programs are not slowed, the lines the machine's rsyslogd took arrive once
# the collector is back, and the rest are counted as dropped by the library.
# Machine beta's lines are JSON (log.format).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "needs root for private mount namespaces"; exit 77; }
command -v rsyslogd > /dev/null || { echo "rsyslogd not installed"; exit 77; }
GOLDEN_SKIP=1 # the lines are counted here; their shapes are t_syslog's
C=$(closed_port)
R=$(closed_port)
TCP=$(closed_port)
collected=$T/collector.log

# The collector: TCP in, one file out, each line with its RFC 5424 header.
start_collector() {
	cat > "$T/collector.conf" <<EOF
global(workDirectory="$T/collector.d")
module(load="imtcp")
input(type="imtcp" address="127.0.0.1" port="$TCP")
*.* action(type="omfile" file="$collected" template="RSYSLOG_SyslogProtocol23Format")
EOF
	mkdir -p "$T/collector.d"
	env -u LD_PRELOAD rsyslogd -n -f "$T/collector.conf" -i "$T/collector.pid" &
	collector=$!
	wait_for sh -c "ss -ltn | grep -q '127.0.0.1:$TCP '" || fail "the collector does not listen"
}
start_collector

# machine NAME SCRIPT: runs SCRIPT in a private /dev whose /dev/log is a
# machine's rsyslogd (hostname NAME) forwarding to the collector, with a
# queue that holds the lines while the collector is away.
machine() {
	name=$1 script=$2
	mkdir -p "$T/$name.d"
	cat > "$T/$name.conf" <<EOF
global(workDirectory="$T/$name.d" localHostname="$name")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="/dev/log" RateLimit.Interval="0" CreatePath="on")
*.* action(type="omfwd" target="127.0.0.1" port="$TCP" protocol="tcp" template="RSYSLOG_SyslogProtocol23Format"
           queue.type="LinkedList" queue.size="100000" action.resumeRetryCount="-1" action.resumeInterval="1")
EOF
	"$HERE/private-dev.sh" sh -c '
		env -u LD_PRELOAD rsyslogd -n -f "$1" -i "$2" &
		rpid=$!
		i=0
		while [ ! -S /dev/log ]; do i=$((i + 1)); [ $i -lt 200 ] || exit 1; sleep 0.05; done
		sh "$3"; rc=$?
		# Its marker at the collector means everything before it is there.
		mark="end of $4, run $$"  # each run its own: alpha runs twice
		env -u LD_PRELOAD logger -u /dev/log -t fleet-marker "$mark"
		i=0
		while ! grep -q "fleet-marker .*$mark" "$5" 2> /dev/null; do
			i=$((i + 1)); [ $i -lt 600 ] || { echo "no marker from $4" >&2; rc=1; break; }
			sleep 0.05
		done
		kill $rpid; wait $rpid
		exit $rc
	' sh "$T/$name.conf" "$T/$name.pid" "$script" "$name" "$collected"
}

rules=$(config rules.cfg "version = 1; log: { syslog = true; rate = 0; };
rules = ( { name = \"db\"; dst = \"127.0.0.1\"; port = $R; action = \"refuse\"; } );")
jrules=$(config jrules.cfg "version = 1; log: { syslog = true; rate = 0; format = \"json\"; };
rules = ( { name = \"db\"; dst = \"127.0.0.1\"; port = $R; action = \"refuse\"; } );")
# alpha: 7 real refusals and 3 simulated; beta (JSON): 4 real and 5 simulated.
cat > "$T/alpha.sh" <<EOF
CONNREFUSE_CONFIG=$rules LD_PRELOAD=$PRELOAD $HELPERS/connloop 127.0.0.1 $C 7 > /dev/null
CONNREFUSE_CONFIG=$rules LD_PRELOAD=$PRELOAD $HELPERS/connloop 127.0.0.1 $R 3 > /dev/null
EOF
cat > "$T/beta.sh" <<EOF
CONNREFUSE_CONFIG=$jrules LD_PRELOAD=$PRELOAD $HELPERS/connloop 127.0.0.1 $C 4 > /dev/null
CONNREFUSE_CONFIG=$jrules LD_PRELOAD=$PRELOAD $PY -c "
import socket
for _ in range(5):
    try: socket.create_connection(('127.0.0.1', $R))
    except OSError: pass"
EOF
machine alpha "$T/alpha.sh" || fail "machine alpha"
machine beta "$T/beta.sh" || fail "machine beta"
head -n 3 "$collected" | cut -c1-160

# per_machine FILE NAME: the events report counts for machine NAME.
per_machine() {
	"$CLI" report "$1" | awk -v m="$2" '/^by machine/ { t = 1; next } /^$/ { t = 0 } t && $1 == m { print $2 + $3 + $4 }'
}
"$CLI" report "$collected" > "$T/report"
sed -n '/^by machine/,/^$/p' "$T/report"
expect_eq "$(per_machine "$collected" alpha)" 10 "report on the collector's file: alpha made 10 lines (7 real, 3 simulated)"
expect_eq "$(per_machine "$collected" beta)" 9 "report on the collector's file: beta made 9 lines (JSON: 4 real, 5 simulated)"
expect_grep '^  refused +19  \(simulated 8, real 11\)$' "$T/report" "the fleet: 19 refusals, 8 simulated, 11 real"

# The collector away: alpha's programs are not slowed; the lines alpha's
# rsyslogd takes wait in its queue until the collector is back, and those
# it cannot take while it retries (its socket full) are counted by the
# library as dropped, in the summary line: every line is accounted for.
kill "$collector"; wait "$collector" 2> /dev/null
before=$(grep -c 'result=refused' "$collected")
away=$(config away.cfg "version = 1; log: { syslog = true; file = \"$T/away.log\"; rate = 0; };")
cat > "$T/alpha2.sh" <<EOF
s=\$(date +%s%N)
CONNREFUSE_CONFIG=$away LD_PRELOAD=$PRELOAD $HELPERS/connloop 127.0.0.1 $C 200 > /dev/null
echo \$(( (\$(date +%s%N) - s) / 1000000 )) > $T/away.ms
s=\$(date +%s%N)
$HELPERS/connloop 127.0.0.1 $C 200 > /dev/null
echo \$(( (\$(date +%s%N) - s) / 1000000 )) > $T/bare.ms
# Back after the programs are done; the queue drains to it.
sh -c '. $T/restart.sh'
EOF
cat > "$T/restart.sh" <<EOF
env -u LD_PRELOAD rsyslogd -n -f "$T/collector.conf" -i "$T/collector.pid" &
echo \$! > "$T/collector2.pid"
EOF
machine alpha "$T/alpha2.sh" || fail "machine alpha, the collector away"
echo "$(cat "$T/collector2.pid")" >> "$T/pids"
after=$(grep -c 'result=refused' "$collected")
arrived=$((after - before))
# What the library could not hand to alpha's rsyslogd (its socket full while
# it retried the collector) it counted: the summary line of the file sink.
dropped=$(sed -n 's/^'"$STAMP"'result=suppressed count=[0-9]* dropped=\([0-9]*\) .*/\1/p' "$T/away.log" | awk '{ s += $1 } END { print s + 0 }')
[ "$arrived" -gt 0 ] || fail "the collector away: nothing arrived once it was back"
expect_eq "$((arrived + dropped))" 200 "the collector away: $arrived lines arrived once it was back (rsyslog queued them), $dropped counted as dropped by the library (alpha's /dev/log full): 200, nothing lost unsaid"
away=$(cat "$T/away.ms") bare=$(cat "$T/bare.ms")
[ "$away" -le $((bare * 3 + 200)) ] || fail "the collector away: 200 connects took $away ms preloaded, $bare ms bare"
ok "the collector away: 200 refused connects took $away ms preloaded, $bare ms without the library (not held up by syslog)"
expect_eq "$(per_machine "$collected" alpha)" $((10 + arrived)) "report: alpha's count includes the lines that waited"
