# Faults after connect (reset, close, stall) under run --seccomp, for the
# programs the library cannot see: a Go client (raw system calls, its
# connects non-blocking) and a static C client on epoll (its connect
# non-blocking, or blocking), against the real misbehaving servers of
# faultserver.py and against the same fault made by a rule on a server
# that behaves: the same output and exit status. The supervisor connects
# the program's own socket to run's relay; getpeername (trapped) says the
# destination the program asked for; a destination that refuses refuses
# the program as it would have.
. "$(dirname "$0")/lib.sh"
if ! out=$("$CLI" run --seccomp -- true 2>&1); then
	echo "seccomp user notification unavailable here: $out"
	exit 77
fi
FAULT_RUN=--seccomp
fault_setup
CFG_RESET_MS=$(fault_rules cutms reset "after_ms = $MS;" $HOLD)
STATIC=$HELPERS/static-epollclient

# The static C client: non-blocking connect (EINPROGRESS, then epoll), or
# a blocking one.
for fault in reset close; do
	if [ $fault = reset ]; then o=$RESET cfg=$CFG_RESET; else o=$CLOSE cfg=$CFG_CLOSE; fi
	same_fault "$fault after $N bytes, static C on epoll, non-blocking connect" $o "$cfg" "$STATIC \$PORT"
	same_fault "$fault after $N bytes, static C on epoll, blocking connect" $o "$cfg" "$STATIC \$PORT block"
done
same_fault "stall in, static C on epoll waiting 1 s" $MUTE "$CFG_STALL_IN" "$STATIC \$PORT wait"
same_fault "stall in, static C, blocking connect, waiting 1 s" $MUTE "$CFG_STALL_IN" "$STATIC \$PORT wait block"
# getpeername answered by the supervisor as the kernel would: the
# destination, then cut to a 4-byte buffer with its whole length said; a
# second connect() gets the kernel's answer.
same_fault "getpeername whole and cut, a second connect, static C, non-blocking" $GOOD "$CFG_RESET" "$STATIC \$PORT peer"
same_fault "getpeername whole and cut, a second connect, static C, blocking" $GOOD "$CFG_RESET" "$STATIC \$PORT peer block"
# The line names the program's process, not the supervisor's (sh execs it).
"$CLI" run --seccomp -c "$CFG_RESET" -- sh -c 'echo "pid $$"; exec "$0" "$1"' "$STATIC" $GOOD > "$T/pid.out"
pid=$(sed -n 's/^pid //p' "$T/pid.out")
expect_grep "^${STAMP}result=reset simulated=yes rule=cut action=reset pid=$pid uid=[0-9]+ comm=static-epollcli dst=127\\.0\\.0\\.1:$GOOD proto=tcp sent=27 received=$N after_ms=[0-9]+\$" \
	"$T/cut.log" "a reset is logged with the program's pid and comm, the bytes each way"

# Python, dynamic but not preloaded here: the supervisor acts for it too.
same_fault "reset after $N bytes, python socket" $RESET "$CFG_RESET" "$PY $HERE/faultclient.py raw \$PORT"
same_fault "getpeername under the rule, python" $GOOD "$CFG_RESET" "$PY $HERE/faultclient.py peer \$PORT"

DEAD=$(closed_port)
DEAD_CFG=$(config dead.cfg "version = 1; log: { syslog = false; file = \"$T/dead.log\"; };
rules = ( { name = \"dead\"; dst = \"127.0.0.1\"; port = $DEAD; action = \"reset\"; after_bytes = 10; } );")
GO=""
if command -v go > /dev/null && [ -z "${CR_SANITIZE:-}" ]; then
	go_build faultclient.go
	GO=$T/go/faultclient
	for fault in reset close; do
		if [ $fault = reset ]; then o=$RESET cfg=$CFG_RESET; else o=$CLOSE cfg=$CFG_CLOSE; fi
		same_fault "$fault after $N bytes, Go net.Conn" $o "$cfg" "$GO raw \$PORT"
	done
	same_fault "stall in, Go read with a 1 s deadline" $MUTE "$CFG_STALL_IN" "$GO wait \$PORT"
	same_fault "stall out, Go writes with a 1 s deadline" $MUTE "$CFG_STALL_OUT" "$GO flood \$PORT"
	# RemoteAddr is what getpeername said, after Go's non-blocking connect.
	same_fault "getpeername under the rule, Go RemoteAddr" $GOOD "$CFG_RESET" "$GO peer \$PORT"
	expect_eq "$(head -n 1 "$T/rule")" "peer 127.0.0.1:$GOOD" "Go's RemoteAddr is the destination it dialled, not the relay"
	TARGET=$HOLD TIMED=1
	same_fault "reset after $MS ms, Go net.Conn" $LATE_RESET "$CFG_RESET_MS" "$GO raw \$PORT"
	unset TARGET TIMED
	expect_grep "^${STAMP}result=reset simulated=yes rule=cut action=reset pid=[0-9]+ uid=[0-9]+ comm=faultclient dst=127\\.0\\.0\\.1:$GOOD proto=tcp sent=[0-9]+ received=$N after_ms=[0-9]+\$" \
		"$T/cut.log" "Go: the reset is logged"
	expect_grep "^${STAMP}result=stalled simulated=yes rule=clog action=stall pid=[0-9]+ uid=[0-9]+ comm=faultclient " \
		"$T/clog.log" "Go: the stall is logged"
else
	echo "note: no Go toolchain (Debian's golang-go), or a sanitizer run: the Go client is not tested"
fi
expect_grep "^${STAMP}result=closed simulated=yes rule=eof action=close .* received=$N after_ms=[0-9]+\$" \
	"$T/eof.log" "a close is logged"
expect_grep "^${STAMP}result=stalled simulated=yes rule=hush action=stall .* sent=0 received=0 after_ms=[0-9]+\$" \
	"$T/hush.log" "a stall is logged"

# The destination first: one that refuses refuses the program through the
# kernel, as it would have, blocking or not.
same_refusal "$DEAD_CFG" $DEAD "$STATIC \$PORT" "$STATIC \$PORT block" ${GO:+"$GO raw \$PORT"}
expect_grep "^${STAMP}result=refused simulated=no rule=dead action=reset pid=[0-9]+ uid=[0-9]+ comm=static-epollcli dst=127\\.0\\.0\\.1:$DEAD proto=tcp errno=ECONNREFUSED " \
	"$T/dead.log" "the refusal is logged as a real one, under the rule"
