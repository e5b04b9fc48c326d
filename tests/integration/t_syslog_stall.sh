# Logging never blocks: with a syslog receiver that never reads, 10,000
# refused connects all return promptly, and the lines syslog could not take
# are counted and reported (in the file sink, which still works).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "needs root for a private mount namespace"; exit 77; }
P=$(start_listener)
cfg=$(config rules.cfg "version = 1;
log: { syslog = true; file = \"$T/file.log\"; rate = 0; };
rules = ( { name = \"r\"; dst = \"127.0.0.1\"; port = $P; action = \"refuse\"; } );")
"$HERE/private-dev.sh" sh -c "
	# A receiver that binds /dev/log and never reads: its queue fills up.
	$PY -c 'import socket, time; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.bind(\"/dev/log\"); time.sleep(300)' &
	rx=\$!
	i=0; while [ ! -S /dev/log ] && [ \$i -lt 400 ]; do i=\$((i+1)); sleep 0.025; done
	CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD timeout 120 $HELPERS/connloop 127.0.0.1 $P 10000 > $T/loop.out
	echo \"loop exit \$?\" >> $T/loop.out
	kill \$rx
" || fail "private-dev"
cat "$T/loop.out"
expect_grep '^refused=10000 connected=0 other=0 ' "$T/loop.out" "10,000 connects refused"
expect_grep '^loop exit 0$' "$T/loop.out" "the loop finished (no connect blocked)"
max=$(sed -n 's/.*max_ms=\([0-9.]*\).*/\1/p' "$T/loop.out")
awk -v m="$max" 'BEGIN { exit !(m < 100) }' || fail "slowest connect took $max ms"
ok "slowest connect() took $max ms (< 100 ms)"
expect_eq "$(grep -c '^'"$STAMP"'result=refused' "$T/file.log")" 10000 "every line reached the file sink"
summary=$(grep '^'"$STAMP"'result=suppressed' "$T/file.log" | tail -n 1)
echo "summary: $summary"
dropped=$(grep '^'"$STAMP"'result=suppressed' "$T/file.log" | sed -n 's/.* dropped=\([0-9]*\).*/\1/p' | awk '{ s += $1 } END { print s + 0 }')
[ "$dropped" -gt 0 ] || fail "no drop count reported"
ok "drop count reported: $dropped lines syslog could not take"
