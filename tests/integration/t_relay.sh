# Faults after connect (reset, close, stall) against the real thing: a
# server that resets after N bytes (SO_LINGER 0), one that closes after N
# bytes, one that stops reading and answering; the same fault made by a
# rule, through connrefuse run's relay, on a server that behaves. Each
# client's output and exit status must be the same both ways; getpeername
# says the destination the program asked for; a destination that refuses
# refuses the program as it would have; with no relay the connection
# passes untouched, with one line that says why.
. "$(dirname "$0")/lib.sh"
N=1000

# server MODE [N]: the port of a new faultserver.py.
server() {
	f=$T/server.$1.port
	$PY "$HERE/faultserver.py" "$f" "$@" > /dev/null 2>&1 &
	echo $! >> "$T/pids"
	wait_for test -s "$f" || fail "faultserver $1 did not start"
	cat "$f"
}
GOOD=$(server normal)
RESET=$(server reset $N)
CLOSE=$(server close $N)
MUTE=$(server mute)

# rules NAME ACTION KEYS: a config whose one rule makes ACTION on GOOD.
rules() {
	config "$1.cfg" "version = 1; log: { syslog = false; file = \"$T/$1.log\"; };
rules = ( { name = \"$1\"; dst = \"127.0.0.1\"; port = $GOOD; action = \"$2\"; $3 } );"
}
CFG_RESET=$(rules cut reset "after_bytes = $N; direction = \"in\";")
CFG_CLOSE=$(rules eof close "after_bytes = $N; direction = \"in\";")
CFG_STALL_IN=$(rules hush stall "direction = \"in\";")
CFG_STALL_OUT=$(rules clog stall "direction = \"out\";")

# same NAME ORACLE_PORT CONFIG COMMAND: COMMAND (with $PORT) against the
# oracle, plain, then against GOOD under the rule: the same output and exit
# status, ports masked.
same() {
	name=$1 oracle=$2 cfg=$3
	shift 3
	PORT=$oracle sh -c "$*" > "$T/oracle" 2>&1
	echo "exit=$?" >> "$T/oracle"
	PORT=$GOOD "$CLI" run -c "$cfg" -- sh -c "$*" > "$T/rule" 2>&1
	echo "exit=$?" >> "$T/rule"
	for f in oracle rule; do
		sed -E "s/\\b($oracle|$GOOD)\\b/PORT/g; s/[0-9]+ (ms|milliseconds)/N \1/g" "$T/$f" > "$T/$f.n"
	done
	cmp -s "$T/oracle.n" "$T/rule.n" || { diff "$T/oracle.n" "$T/rule.n"; fail "$name: the rule's output differs from the real server's"; }
	ok "$name: $(head -n 1 "$T/rule.n" | cut -c1-90) ($(tail -n 1 "$T/rule.n"))"
}

C=$HERE/faultclient.py
CURL="curl -sS -o /dev/null -w '%{size_download} bytes\\n' http://127.0.0.1:\$PORT/"
for fault in reset close; do
	if [ $fault = reset ]; then o=$RESET cfg=$CFG_RESET; else o=$CLOSE cfg=$CFG_CLOSE; fi
	same "$fault after $N bytes, python socket" $o "$cfg" "$PY $C raw \$PORT"
	same "$fault after $N bytes, python http.client" $o "$cfg" "$PY $C http \$PORT"
	same "$fault after $N bytes, python urllib" $o "$cfg" "$PY $C urllib \$PORT"
	have_curl && same "$fault after $N bytes, curl" $o "$cfg" "$CURL"
done
expect_grep "^${STAMP}result=reset simulated=yes rule=cut action=reset pid=[0-9]+ uid=[0-9]+ comm=python3 dst=127\\.0\\.0\\.1:$GOOD proto=tcp sent=[0-9]+ received=$N after_ms=[0-9]+\$" \
	"$T/cut.log" "a reset is logged with the bytes each way and the time since the connect"
expect_grep "^${STAMP}result=closed simulated=yes rule=eof action=close .* received=$N after_ms=[0-9]+\$" \
	"$T/eof.log" "a close is logged"

# A stall: the program's reads wait (its own timeout ends them), its
# writes block once the buffers are full, as with a peer that stopped.
same "stall in, python socket read with a 1 s timeout" $MUTE "$CFG_STALL_IN" "$PY $C wait \$PORT"
have_curl && same "stall in, curl --max-time 1" $MUTE "$CFG_STALL_IN" "curl -sS --max-time 1 -o /dev/null http://127.0.0.1:\$PORT/"
same "stall out, python socket writes with a 1 s timeout" $MUTE "$CFG_STALL_OUT" "$PY $C flood \$PORT"
expect_grep "^${STAMP}result=stalled simulated=yes rule=hush action=stall .* sent=0 received=0 after_ms=[0-9]+\$" \
	"$T/hush.log" "a stall is logged"

# getpeername: the destination the program asked for, not the relay.
same "getpeername under the rule" $GOOD "$CFG_RESET" "$PY $C peer \$PORT"

# The destination first: one that refuses refuses the program, through
# the kernel, as it would have (no connect that succeeds, then a reset).
DEAD=$(closed_port)
have_curl && CURL_DEAD="curl -sS http://127.0.0.1:\$PORT/"
DEAD_CFG=$(config dead.cfg "version = 1; log: { syslog = false; file = \"$T/dead.log\"; };
rules = ( { name = \"dead\"; dst = \"127.0.0.1\"; port = $DEAD; action = \"reset\"; after_bytes = 10; } );")
for client in "$PY $C raw \$PORT" "$PY $C http \$PORT" ${CURL_DEAD:+"$CURL_DEAD"}; do
	PORT=$DEAD sh -c "$client" > "$T/dead.oracle" 2>&1; echo "exit=$?" >> "$T/dead.oracle"
	PORT=$DEAD "$CLI" run -c "$DEAD_CFG" -- sh -c "$client" > "$T/dead.rule" 2>&1; echo "exit=$?" >> "$T/dead.rule"
	sed -Ei 's/[0-9]+ ms/N ms/g' "$T/dead.oracle" "$T/dead.rule"
	cmp -s "$T/dead.oracle" "$T/dead.rule" || { diff "$T/dead.oracle" "$T/dead.rule"; fail "a refusing destination under a reset rule: the program must be refused as without it"; }
done
ok "a destination that refuses: the program is refused as without the rule ($(head -n 1 "$T/dead.rule"))"

# report counts the faults.
cat "$T/cut.log" "$T/eof.log" "$T/hush.log" | "$CLI" report - > "$T/report"
expect_grep "^  reset +[1-9][0-9]* +\\(simulated [1-9]" "$T/report" "report counts resets"
expect_grep "^  closed +[1-9]" "$T/report" "report counts closes"
expect_grep "^  stalled +[1-9]" "$T/report" "report counts stalls"

# No relay (the library preloaded by hand): untouched, one line says why.
CONNREFUSE_CONFIG=$CFG_RESET LD_PRELOAD=$PRELOAD $PY -c "
import subprocess, sys
for _ in range(2):
    subprocess.run([sys.executable, '$C', 'raw', '$GOOD'])
" > "$T/norelay.out" 2> "$T/norelay.err"
PORT=$GOOD $PY "$C" raw "$GOOD" > "$T/plain.out"
expect_eq "$(sort -u "$T/norelay.out")" "$(cat "$T/plain.out")" "no relay: the connection passes untouched"
expect_grep "rule cut: a fault after connect needs the relay of connrefuse run, and CONNREFUSE_RELAY is not set" \
	"$T/norelay.err" "no relay: one line says why"
expect_eq "$(grep -c 'needs the relay' "$T/norelay.err")" 2 "no relay: one line a process"
# A relay named but gone: the same.
CONNREFUSE_RELAY=$T/gone.sock CONNREFUSE_CONFIG=$CFG_RESET LD_PRELOAD=$PRELOAD $PY "$C" raw "$GOOD" > "$T/gone.out" 2> "$T/gone.err"
expect_eq "$(cat "$T/gone.out")" "$(cat "$T/plain.out")" "a relay that is gone: the connection passes untouched"
expect_grep "none answers at $T/gone.sock" "$T/gone.err" "a relay that is gone: one line says why"
