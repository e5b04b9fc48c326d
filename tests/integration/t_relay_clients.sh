# Faults after connect for more clients than t_relay's: a C client that
# reads and writes through io_uring, Java's two HTTP clients, psql against
# a fake PostgreSQL server and redis-cli against a fake Redis server
# (faultserver.py --proto). Each against the real misbehaving server
# (resets after N bytes with SO_LINGER 0, closes after N bytes, stops
# reading and answering), then against one that behaves under a rule that
# makes the same fault (same_fault, lib.sh): the same output and exit
# status; after a stall, the client's own timeout ends within 20% of the
# oracle's; getpeername, where the client prints it, says the destination.
. "$(dirname "$0")/lib.sh"
fault_setup redis pg
# A fault inside psql's startup: the server's answer to it is longer.
PG_EARLY=100
PG_EARLY_RESET=$(fault_server --proto pg reset $PG_EARLY)
PG_EARLY_CLOSE=$(fault_server --proto pg close $PG_EARLY)
CFG_EARLY_RESET=$(fault_rules pgcut reset "after_bytes = $PG_EARLY; direction = \"in\";" $PG_GOOD)
CFG_EARLY_CLOSE=$(fault_rules pgeof close "after_bytes = $PG_EARLY; direction = \"in\";" $PG_GOOD)

# io_uring: the connect is libc's connect() (the library hooks it; io_uring's
# own connect it does not see), the reads and writes io_uring's. A RST is
# -ECONNRESET in the completion, a FIN 0; getpeername (a real call, hooked)
# is printed each time, and masked alike only when it is the destination.
U=$HELPERS/uringread
same_fault "reset after $N bytes, C on io_uring" $RESET "$CFG_RESET" "$U \$PORT"
same_fault "close after $N bytes, C on io_uring" $CLOSE "$CFG_CLOSE" "$U \$PORT"
TIMED=1 # (set, not prefixed: dash drops a prefix across functions)
same_fault "stall in, C on io_uring, reads with a linked timeout of 1 s" $MUTE "$CFG_STALL_IN" "$U \$PORT wait"
same_fault "stall out, C on io_uring, sends with a linked timeout of 1 s" $MUTE "$CFG_STALL_OUT" "$U \$PORT flood"
# after_ms: the whole answer, then the reset MS after the connect.
TARGET=$HOLD
same_fault "reset after $MS ms, C on io_uring" $LATE_RESET "$(fault_rules cutms reset "after_ms = $MS;" $HOLD)" "$U \$PORT"
unset TIMED TARGET
expect_grep "^${STAMP}result=reset simulated=yes rule=cut action=reset .* comm=uringread dst=127\\.0\\.0\\.1:$GOOD proto=tcp sent=[0-9]+ received=$N " \
	"$T/cut.log" "io_uring: the reset is logged, its N bytes passed"

# cut_and_stall NAME PREFIX COMMAND [STALL_COMMAND]: COMMAND under the
# reset and the close after N bytes, then STALL_COMMAND (default COMMAND)
# under a stall each way, whose end the client times in whole seconds;
# against the servers PREFIX names (fault_setup).
cut_and_stall() {
	eval "TARGET=\$${2}GOOD reset=\$${2}RESET close=\$${2}CLOSE mute=\$${2}MUTE"
	same_fault "reset after $N bytes, $1" $reset "$CFG_RESET" "$3"
	same_fault "close after $N bytes, $1" $close "$CFG_CLOSE" "$3"
	TIMED=1 WHOLE_SECONDS=1
	same_fault "stall in, $1" $mute "$CFG_STALL_IN" "${4:-$3}"
	same_fault "stall out, $1" $mute "$CFG_STALL_OUT" "${4:-$3}"
	unset TARGET TIMED WHOLE_SECONDS
}

# psql (libpq): the SSL request declined, the startup answered, a query's
# rows cut by the fault (libpq words a RST and a FIN alike: "server closed
# the connection unexpectedly"), or its startup's answer; connect_timeout
# (2 s) ends a stall.
PSQL="psql -X -w \"host=127.0.0.1 port=\$PORT user=x dbname=x gssencmode=disable connect_timeout=2\" -c 'select x'"
if [ -z "${CR_SANITIZE:-}" ] && command -v psql > /dev/null; then
	PORT=$PG_GOOD sh -c "$PSQL" > "$T/pg.plain" 2>&1
	expect_grep '^\(100 rows\)$' "$T/pg.plain" "psql against the fake server that behaves: its 100 rows"
	cut_and_stall psql PG_ "$PSQL"
	TARGET=$PG_GOOD
	same_fault "reset after $PG_EARLY bytes (its startup), psql" $PG_EARLY_RESET "$CFG_EARLY_RESET" "$PSQL"
	same_fault "close after $PG_EARLY bytes (its startup), psql" $PG_EARLY_CLOSE "$CFG_EARLY_CLOSE" "$PSQL"
	unset TARGET
else
	echo "note: psql is not installed, or not run under the sanitizers"
fi

# redis-cli (hiredis): GET's bulk reply cut; a stall ended by --pipe's
# own timeout (1 s), the only one redis-cli has for replies.
if [ -z "${CR_SANITIZE:-}" ] && command -v redis-cli > /dev/null; then
	printf '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n' > "$T/get.resp"
	expect_eq "$(redis-cli -h 127.0.0.1 -p $REDIS_GOOD GET k | wc -c)" 5001 "redis-cli against the fake server that behaves: the value's 5,000 bytes"
	cut_and_stall redis-cli REDIS_ "redis-cli -h 127.0.0.1 -p \$PORT GET k" "redis-cli -h 127.0.0.1 -p \$PORT --pipe --pipe-timeout 1 < $T/get.resp"
else
	echo "note: redis-cli is not installed (redis-tools), or not run under the sanitizers"
fi

# Java: the JVM's connects are libc's connect(), which the library hooks
# (its log line says comm=java); a timeout the client reports itself
# (elapsed_ms, the JVM's start left out). Few runs: the JVM starts slowly.
if [ -z "${CR_SANITIZE:-}" ] && command -v javac > /dev/null && javac -d "$T" "$HERE/FaultClient.java"; then
	J="java -cp $T FaultClient"
	for k in httpclient urlconnection; do
		same_fault "reset after $N bytes, java $k" $RESET "$CFG_RESET" "$J $k \$PORT"
		same_fault "close after $N bytes, java $k" $CLOSE "$CFG_CLOSE" "$J $k \$PORT"
	done
	TIMED=1
	same_fault "stall in, java httpclient, a request timeout of 1 s" $MUTE "$CFG_STALL_IN" "$J httpclient \$PORT timeout"
	same_fault "stall in, java urlconnection, a read timeout of 1 s" $MUTE "$CFG_STALL_IN" "$J urlconnection \$PORT timeout"
	same_fault "stall out, java httpclient POSTing 256 MiB, a request timeout of 1 s" $MUTE "$CFG_STALL_OUT" "$J post \$PORT timeout"
	unset TIMED
	# Java's remote address is its own record of the connect, not a
	# getpeername() (so it says the destination with or without the hook).
	same_fault "java's remote address under the rule (its own record)" $GOOD "$CFG_RESET" "$J peer \$PORT"
	expect_grep "^${STAMP}result=reset simulated=yes rule=cut action=reset pid=[0-9]+ uid=[0-9]+ comm=java " \
		"$T/cut.log" "java's connect reaches the library: a reset logged for it"
else
	echo "note: no Java compiler, or not run under the sanitizers: java skipped"
fi
