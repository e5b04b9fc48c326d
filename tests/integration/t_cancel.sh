# Cancellation: a thread cancelled while blocked in connect() is cancelled
# the same way preloaded as bare, whether it waits in the kernel (a real
# connect to a listener whose accept queue is full) or in a simulated
# delay_ms; the library stays usable afterwards (its read section is left
# as the cancellation unwinds).
. "$(dirname "$0")/lib.sh"
check_run() { # LABEL WHERE FILE
	cat "$3"
	expect_grep "^cancelled after [0-9]+ ms in syscall $2\$" "$3" "$1: cancelled while blocked in $2"
	ms=$(sed -n 's/^cancelled after \([0-9]*\) ms.*/\1/p' "$3")
	# (Cancelled in the 10-second delay, not after it: a bound no load
	# reaches where the fault takes the whole delay.)
	[ "$ms" -lt 5000 ] || fail "$1: the cancellation took $ms ms"
	expect_grep '^then: connected$' "$3" "$1: a later connect goes through"
}
timeout 30 $HELPERS/cancelconnect > "$T/bare" || fail "bare run failed"
check_run "bare" connect "$T/bare"
LD_PRELOAD=$PRELOAD timeout 30 $HELPERS/cancelconnect > "$T/audit" || fail "preloaded run failed"
check_run "preloaded, real connect" connect "$T/audit"
# The second attempt (the blocked one; the first fills the queue) is delayed
# 10 s by the rule: it is cancelled in the delay, well before.
cfg=$(config slow.cfg 'version = 1;
log: { syslog = false; };
rules = ( { name = "slow"; dst = "127.0.0.1"; action = "pass"; delay_ms = 10000; after = 1; first = 2; } );')
CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD timeout 30 $HELPERS/cancelconnect > "$T/delay" || fail "delayed run failed"
check_run "preloaded, simulated delay" sleep "$T/delay"
