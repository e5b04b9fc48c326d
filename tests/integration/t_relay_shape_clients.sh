# Shaping for the clients t_relay_shape leaves out (it has python and
# curl), held to the same oracles in a private network namespace:
# bandwidth (2 MB at 1 MB/s) against tc tbf, latency against netem delay
# where the kernel has it, otherwise the direct time plus what each round
# trip must add; the outputs equal and the times within 20% (three tries).
# Python's asyncio streams, node, Java's HttpClient and a Socket, the C
# client on epoll, redis-cli --pipe and psql against fake servers; a Go
# client and the static C client on epoll under run --seccomp; and a
# shaping made by the relay service (connrefuse relay, as nobody) for a
# program preloaded by hand.
NETNS=1
. "$(dirname "$0")/lib.sh"

ECHO=$(fault_server echo 0)
BULK=$(fault_server bulk 2000000)
RATE=1000000 L=50 N=10
TBF="tc qdisc add dev lo root tbf rate 8mbit burst 16kb latency 2s"
THIN=$(shape_rules thin "bandwidth = $RATE; direction = \"in\";" "$BULK")
SLOW=$(shape_rules slow "latency_ms = $L;" "$ECHO")
netem_oracle $L
# bandwidth NAME COMMAND: COMMAND's 2 MB through tbf, then through the rule.
bandwidth() {
	! latency_only || return 0
	oracle_what="tc tbf rate 8mbit"
	versus "bandwidth, $1, 2 MB" "$TBF" "$THIN" "$2"
}
# latency NAME COMMAND [CONFIG]: COMMAND's N round trips through netem, or
# held to the arithmetic: a round trip crosses the relay twice. The rule is
# CONFIG's (default SLOW's).
latency() {
	if [ -n "$NETEM" ]; then
		oracle_what="tc netem delay ${L}ms"
		versus "latency, $1, $N round trips" "$NETEM" "${3:-$SLOW}" "$2"
	else
		arith_cfg "latency, $1, $N round trips" "${3:-$SLOW}" $((2 * L * N)) "$2"
	fi
}

# ---- python's asyncio streams (t_relay_shape has its other clients) ----
bandwidth "python asyncio streams" "$PY $HERE/shapeclient.py aget $BULK"
latency "python asyncio streams" "$PY $HERE/shapeclient.py artt $ECHO $N"

# ---- node: http.get, and net ----
if command -v node > /dev/null; then
	bandwidth "node http.get" "node $HERE/shapeclient.js get $BULK"
	latency "node net" "node $HERE/shapeclient.js rtt $ECHO $N"
else
	echo "note: node is not installed: node skipped"
fi

# ---- Java: HttpClient, and a Socket (times taken by the client: the JVM's start left out) ----
if [ -z "${CR_SANITIZE:-}" ] && command -v javac > /dev/null && javac -d "$T" "$HERE/FaultClient.java"; then
	bandwidth "java HttpClient" "java -cp $T FaultClient get $BULK"
	latency "java Socket" "java -cp $T FaultClient rtt $ECHO $N"
else
	echo "note: no Java compiler, or not run under the sanitizers: java skipped"
fi

# ---- the C client on epoll: preloaded under run, and static under run --seccomp ----
latency "C on epoll" "$HELPERS/epollclient $ECHO rtt $N"
if "$CLI" run --seccomp -- true > /dev/null 2>&1; then
	RUN_FLAGS=--seccomp latency "static C on epoll, under run --seccomp" "$HELPERS/static-epollclient $ECHO rtt $N"
	# ---- Go (raw system calls, non-blocking connects), under run --seccomp ----
	if command -v go > /dev/null && [ -z "${CR_SANITIZE:-}" ]; then
		go_build faultclient.go
		GO=$T/go/faultclient
		RUN_FLAGS=--seccomp bandwidth "Go net.Conn, under run --seccomp" "$GO get $BULK"
		RUN_FLAGS=--seccomp latency "Go net.Conn, under run --seccomp" "$GO rtt $ECHO $N"
	else
		echo "note: no Go toolchain (Debian's golang-go), or a sanitizer run: the Go client is not tested"
	fi
else
	echo "note: seccomp user notification unavailable here: nothing under run --seccomp"
fi

# timed COMMAND: COMMAND, then "ms=N", its time (for clients that time nothing).
timed() {
	echo "s=\$(date +%s%N); $1; echo ms=\$(( (\$(date +%s%N) - s) / 1000000 ))"
}

# ---- redis-cli --pipe: 400 GETs of 5,000 bytes, 2 MB of replies ----
if [ -z "${CR_SANITIZE:-}" ] && command -v redis-cli > /dev/null; then
	REDIS=$(fault_server --proto redis normal)
	i=0
	while [ $i -lt 400 ]; do printf '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n'; i=$((i + 1)); done > "$T/gets.resp"
	THIN=$(shape_rules narrow "bandwidth = $RATE; direction = \"in\";" "$REDIS")
	bandwidth "redis-cli --pipe, 400 GETs" "$(timed "redis-cli -h 127.0.0.1 -p $REDIS --pipe < $T/gets.resp")"
else
	echo "note: redis-cli is not installed (redis-tools), or not run under the sanitizers"
fi

# ---- psql: 325 queries, each answered with 100 rows (6,149 bytes), 2 MB ----
if [ -z "${CR_SANITIZE:-}" ] && command -v psql > /dev/null; then
	PG=$(fault_server --proto pg normal)
	i=0
	while [ $i -lt 325 ]; do echo "select x;"; i=$((i + 1)); done > "$T/rows.sql"
	THIN=$(shape_rules rows "bandwidth = $RATE; direction = \"in\";" "$PG")
	bandwidth "psql, 325 queries" \
		"$(timed "psql -X -w -q -o /dev/null 'host=127.0.0.1 port=$PG user=x dbname=x gssencmode=disable' -f $T/rows.sql; echo psql exited \$?")"
else
	echo "note: psql is not installed, or not run under the sanitizers"
fi

# ---- the relay service (connrefuse relay, as nobody), the library preloaded by hand ----
# Its config, its log and its socket's folder in a folder every user can read.
D=$(public_lib_dir)
mkdir -m 755 "$D/run" && chown nobody "$D/run"
: > "$D/service.log" && chmod 666 "$D/service.log"
cat > "$D/service.cfg" << CFG
version = 1;
log: { syslog = false; file = "$D/service.log"; level = "all"; };
relay = { socket = "$D/run/relay.sock"; };
rules = ( { name = "far"; dst = "127.0.0.1"; port = $ECHO; action = "pass"; latency_ms = $L; } );
CFG
chmod 644 "$D/service.cfg"
"$CLI" relay -c "$D/service.cfg" --user nobody 2> "$T/service.err" &
PIDS="$PIDS $!"
wait_for grep -q "listening at $D/run/relay.sock" "$T/service.err" || { cat "$T/service.err"; fail "the relay service did not start"; }
SHAPED_BY=service latency "python socket, the relay service, LD_PRELOAD by hand" "$PY $HERE/shapeclient.py rtt $ECHO $N" "$D/service.cfg"
wait_for grep -q "result=shaped" "$D/service.log"
expect_grep "^${STAMP}result=shaped simulated=yes rule=far action=pass pid=[0-9]+ uid=0 comm=python3 dst=127\\.0\\.0\\.1:$ECHO proto=tcp sent=$N received=$N after_ms=[0-9]+\$" \
	"$D/service.log" "the service logs the shaped connection, with who asked"
