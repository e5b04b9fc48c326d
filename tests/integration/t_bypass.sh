# Connects that bypass connect(): TCP Fast Open through sendto/sendmsg with
# MSG_FASTOPEN is ruled and logged like connect(). And descriptor numbers:
# after close(), close_range() or dup2() over a socket whose connect is in flight, a new
# socket with that number is never attributed the old destination.
. "$(dirname "$0")/lib.sh"
P=$(start_listener)
C=$(closed_port)
C2=$(closed_port)
cfg=$(config rules.cfg "version = 1;
log: { syslog = false; file = \"$T/file.log\"; };
rules = ( { name = \"tfo\"; port = $P; action = \"refuse\"; } );")
CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $HELPERS/tfo 127.0.0.1 "$P" > "$T/sim"
$HELPERS/tfo 127.0.0.1 "$C" > "$T/real"
cat "$T/sim"
diff "$T/real" "$T/sim" || fail "TFO under a refuse rule differs from a real refusal"
ok "sendto/sendmsg(MSG_FASTOPEN) to a refused destination fail like a real refusal"
expect_eq "$(grep -c "^${STAMP}result=refused simulated=yes rule=tfo action=refuse .* dst=127\\.0\\.0\\.1:$P proto=tcp errno=ECONNREFUSED " "$T/file.log")" 2 "both are logged"
$HELPERS/tfo 127.0.0.1 "$P" > "$T/bare"
expect_grep '^sendto: 2 0$' "$T/bare" "without the library TFO reaches the listener"

audit=$(config audit.cfg "version = 1;
log: { syslog = false; file = \"$T/audit.log\"; };")
for mode in close close_range dup2; do
	rm -f "$T/audit.log"
	CONNREFUSE_CONFIG=$audit LD_PRELOAD=$PRELOAD $HELPERS/fdreuse $mode "$C" "$C2" > "$T/out"
	cat "$T/out"
	expect_grep '^so_error on reused fd [0-9]+: ECONNREFUSED$' "$T/out" "$mode: the new socket on the old number was refused"
	if [ -f "$T/audit.log" ] && grep -q "dst=127.0.0.1:$C " "$T/audit.log"; then
		cat "$T/audit.log"; fail "$mode: the old destination was attributed to the new socket"
	fi
	ok "$mode: the old destination is not attributed to the new socket"
done
