# Shaping (latency_ms, jitter_ms, bandwidth, slice) against the kernel's
# own emulation: in a private network namespace, the same client against
# a server that behaves, once through tc on lo (tbf rate; netem delay where
# the kernel has it) and once through a rule under connrefuse run, tc
# removed; the outputs equal and the times within 20% (three tries: a
# loaded machine can slow one). Slices: a client that records its reads
# sees pieces of at most slice bytes, slice_ms apart. Every combination
# that cannot hold is a config error with its message.
# (t_relay_shape_clients: the other clients.)
NETNS=1
. "$(dirname "$0")/lib.sh"

ECHO=$(fault_server echo 0)
BULK=$(fault_server bulk 2000000)
SMALL=$(fault_server bulk 2000)
SC=$HERE/shapeclient.py

# ---- bandwidth: tbf at 1 MB/s (8 mbit), 2 MB toward the program ----
RATE=1000000
if ! latency_only; then
	oracle_what="tc tbf rate 8mbit"
	TBF="tc qdisc add dev lo root tbf rate 8mbit burst 16kb latency 2s"
	cfg=$(shape_rules thin "bandwidth = $RATE; direction = \"in\";" "$BULK")
	versus "bandwidth, python urllib, 2 MB" "$TBF" "$cfg" "$PY $SC get $BULK"
	versus "bandwidth, python http.client, 2 MB" "$TBF" "$cfg" "$PY $SC http $BULK"
	if have_curl; then
		CURL="curl -sS -o /dev/null -w '%{size_download} bytes\\nms=%{time_total}\\n' http://127.0.0.1:$BULK/ | sed -E 's/^ms=([0-9]+)\\.([0-9]{3}).*/ms=\\1\\2/; s/^ms=0*([0-9])/ms=\\1/'"
		versus "bandwidth, curl, 2 MB" "$TBF" "$cfg" "$CURL"
		expect_grep "^${STAMP}result=shaped simulated=yes rule=thin action=pass .*comm=curl .* received=2000[0-9]{3} " "$T/thin.log" \
			"curl's shaped connection has its line, though curl and run ended with it"
	fi
	# tbf on lo limits both ways together, so a way of its own is held to the
	# arithmetic: 1 MB sent at 1 MB/s, its echo unshaped.
	cfg=$(shape_rules up "bandwidth = $RATE; direction = \"out\";" "$ECHO")
	expect_up() {
		"$CLI" run -c "$cfg" -- $PY "$SC" upload "$ECHO" 1000000 > "$T/up" 2>&1
		up_ms=$(ms "$T/up")
		expect_eq "$(cat "$T/up")" "1000000 bytes sent, 1000000 echoed, in order" "bandwidth out: every byte passed, in order"
		within "$up_ms" 1000
	}
	retry_timing expect_up || fail "bandwidth out: 1 MB in $up_ms ms at $RATE bytes a second (1000 ms expected)"
	ok "bandwidth out, python socket: 1 MB sent in $up_ms ms at $RATE bytes a second (1000 ms expected)"
fi

# ---- latency: netem delay where the kernel has it, the arithmetic otherwise ----
L=50 N=10
# curl's time from its connect's end to the first byte (netem delays the handshake too).
CURLF="curl -sS -o /dev/null -w '%{size_download} bytes\\nt %{time_connect} %{time_starttransfer}\\n' http://127.0.0.1:$SMALL/ | awk '\$1 == \"t\" { printf \"ms=%d\\n\", (\$3 - \$2) * 1000; next } 1'"
netem_oracle $L
if [ -n "$NETEM" ]; then
	oracle_what="tc netem delay ${L}ms"
	cfg=$(shape_rules slow "latency_ms = $L;" "$ECHO")
	versus "latency, python socket, $N round trips" "$NETEM" "$cfg" "$PY $SC rtt $ECHO $N"
	cfg=$(shape_rules slow "latency_ms = $L;" "$SMALL")
	versus "latency, python socket, first byte" "$NETEM" "$cfg" "$PY $SC first $SMALL"
	! have_curl || versus "latency, curl, first byte" "$NETEM" "$cfg" "$CURLF"
	# urllib's whole time: netem holds the handshake's two packets as well,
	# four delays in all, where the relay holds the request and the answer.
	cfg=$(shape_rules slow "latency_ms = $((2 * L));" "$SMALL")
	versus "latency, python urllib (the rule's latency twice netem's)" "$NETEM" "$cfg" "$PY $SC get $SMALL"
else
	arith "latency both, python socket, $N round trips" "latency_ms = $L;" "$ECHO" $((2 * L * N)) "$PY $SC rtt $ECHO $N"
	arith "latency, python socket, first byte" "latency_ms = $L;" "$SMALL" $((2 * L)) "$PY $SC first $SMALL"
	! have_curl || arith "latency, curl, first byte" "latency_ms = $L;" "$SMALL" $((2 * L)) "$CURLF"
	arith "latency, python urllib" "latency_ms = $L;" "$SMALL" $((2 * L)) "$PY $SC get $SMALL"
fi
# One way, jitter, latency with bandwidth: no qdisc on lo tells the ways
# apart, so these are held to the arithmetic everywhere.
arith "latency in, python socket, $N round trips" "latency_ms = $L; direction = \"in\";" "$ECHO" $((L * N)) "$PY $SC rtt $ECHO $N"
arith "latency out, python socket, $N round trips" "latency_ms = $L; direction = \"out\";" "$ECHO" $((L * N)) "$PY $SC rtt $ECHO $N"
arith "latency and jitter, python socket, $N round trips" "latency_ms = $L; jitter_ms = 20;" "$ECHO" $((2 * L * N)) "$PY $SC rtt $ECHO $N"
RUN_FLAGS=--seccomp arith "latency both, python socket, $N round trips, under run --seccomp" "latency_ms = $L;" "$ECHO" \
	$((2 * L * N)) "$PY $SC rtt $ECHO $N"
RUN_FLAGS=--seccomp arith "bandwidth in, python urllib, 2 MB, under run --seccomp" "bandwidth = $RATE; direction = \"in\";" "$BULK" \
	$((2000000 * 1000 / RATE)) "$PY $SC get $BULK"
arith "latency and bandwidth, python urllib, 2 MB" "latency_ms = $L; bandwidth = $RATE; direction = \"in\";" "$BULK" \
	$((2000000 * 1000 / RATE + L)) "$PY $SC get $BULK"

# Jitter keeps the order: each chunk leaves after the one ahead of it.
cfg=$(shape_rules jumble "latency_ms = 20; jitter_ms = 20;" "$ECHO")
"$CLI" run -c "$cfg" -- $PY "$SC" upload "$ECHO" 3000000 > "$T/jumble" 2>&1
sed -i '/^ms=/d' "$T/jumble"
expect_eq "$(cat "$T/jumble")" "3000000 bytes sent, 3000000 echoed, in order" "latency 20 ms, jitter 20 ms, 3 MB echoed: in order"
! latency_only || exit 0

# ---- shaped until the fault fires: a reset after 1000 bytes, sliced ----
RESET=$(fault_server reset 1000)
cfg=$(config cut.cfg "version = 1; log: { syslog = false; file = \"$T/cut.log\"; };
rules = ( { name = \"cut\"; dst = \"127.0.0.1\"; port = $SMALL; action = \"reset\"; after_bytes = 1000; direction = \"in\"; slice = 100; slice_ms = 10; } );")
$PY "$HERE/faultclient.py" raw "$RESET" > "$T/reset.oracle" 2>&1
s=$(date +%s%N)
"$CLI" run -c "$cfg" -- $PY "$HERE/faultclient.py" raw "$SMALL" > "$T/reset.rule" 2>&1
cut_ms=$(( ($(date +%s%N) - s) / 1000000 ))
expect_eq "$(cat "$T/reset.rule")" "$(cat "$T/reset.oracle")" "reset after 1000 bytes, sliced: what the client reads equals a real resetting server's ($(cat "$T/reset.oracle"))"
[ $cut_ms -ge 90 ] || fail "reset after 1000 bytes in slices of 100, 10 ms apart: over in $cut_ms ms, less than the 90 ms the slices take"
ok "the slices passed before the reset ($cut_ms ms for 10 pieces 10 ms apart)"
expect_grep "^${STAMP}result=reset simulated=yes rule=cut action=reset .* received=1000 " "$T/cut.log" "the reset's line: 1000 bytes received"

# Both ways counted, both held by latency: exactly after_bytes pass in all.
cfg=$(config tally.cfg "version = 1; log: { syslog = false; file = \"$T/tally.log\"; };
rules = ( { name = \"tally\"; dst = \"127.0.0.1\"; port = $ECHO; action = \"close\"; after_bytes = 40000; latency_ms = 20; } );")
"$CLI" run -c "$cfg" -- $PY "$SC" upload "$ECHO" 30000 > "$T/tally" 2>&1
expect_grep "^${STAMP}result=closed simulated=yes rule=tally .* sent=[0-9]+ received=[0-9]+ " "$T/tally.log" "close after 40000 bytes both ways, with latency: its line"
sent=$(sed -n 's/.* sent=\([0-9]*\) .*/\1/p' "$T/tally.log") received=$(sed -n 's/.* received=\([0-9]*\) .*/\1/p' "$T/tally.log")
expect_eq "$((sent + received))" 40000 "close after 40000 bytes both ways, with latency: $sent sent and $received received, 40000 in all"

# ---- slice: pieces of at most 100 bytes, 30 ms apart ----
# A client held up longer than a gap reads two pieces at once (a loaded
# machine): three tries, as for times; the relay never writes two together.
cfg=$(shape_rules crumbs "slice = 100; slice_ms = 30; direction = \"in\";" "$SMALL")
sliced() {
	"$CLI" run -c "$cfg" -- $PY "$SC" sizes "$SMALL" > "$T/sizes" 2>&1
	largest=$(sed -n 's/.* the largest \([0-9]*\) bytes$/\1/p' "$T/sizes")
	gap=$(sed -n 's/^gap_ms=//p' "$T/sizes")
	total=$(sed -n 's/^\([0-9]*\) bytes in.*/\1/p' "$T/sizes")
	[ "${total:-0}" -gt 2000 ] || { cat "$T/sizes"; fail "slice: the answer did not pass whole"; }
	[ "${largest:-999}" -le 100 ] && [ "${gap:-0}" -ge 24 ]
}
retry_timing sliced || { cat "$T/sizes"; fail "slice: the largest read $largest bytes (slice = 100), the reads $gap ms apart (median; slice_ms = 30)"; }
ok "slice 100, slice_ms 30, python socket: $(head -n 1 "$T/sizes"), the median gap $gap ms"
# Without the rule, the same answer comes in one read or few.
$PY "$SC" sizes "$SMALL" > "$T/sizes.direct" 2>&1
expect_grep "the largest [0-9]{4} bytes" "$T/sizes.direct" "without slice, reads are whole ($(head -n 1 "$T/sizes.direct"))"

# ---- the lines: at level all, the connect as a pass, and the shaped connection when it ends ----
expect_grep "^${STAMP}result=connected simulated=no rule=crumbs action=pass .*dst=127.0.0.1:$SMALL proto=tcp$" "$T/crumbs.log" \
	"a pass that shapes logs its connect at level all, as a pass"
expect_grep "^${STAMP}result=shaped simulated=yes rule=crumbs action=pass pid=[0-9]+ uid=[0-9]+ comm=python3 dst=127.0.0.1:$SMALL proto=tcp sent=[0-9]+ received=2060 after_ms=[0-9]+$" \
	"$T/crumbs.log" "and, when the connection ends, result=shaped with the bytes each way and its time"
"$CLI" report "$T/crumbs.log" > "$T/report" 2>&1
expect_grep "^  shaped +1  \(simulated 1, real 0\)" "$T/report" "report counts the shaped connection"
# At level failures, nothing: nothing failed.
cfg=$(config quiet.cfg "version = 1; log: { syslog = false; file = \"$T/quiet.log\"; };
rules = ( { name = \"quiet\"; dst = \"127.0.0.1\"; port = $SMALL; action = \"pass\"; slice = 1000; } );")
"$CLI" run -c "$cfg" -- $PY "$SC" sizes "$SMALL" > "$T/quiet.out" 2>&1
expect_grep "2060 bytes in" "$T/quiet.out" "a pass that shapes at level failures: the answer passes"
[ ! -s "$T/quiet.log" ] || { cat "$T/quiet.log"; fail "a pass that shapes at level failures logged a line"; }
ok "a pass that shapes at level failures logs nothing"

# ---- a dry run: nothing shaped, no relay; at level failures the connect's
# line says what the rule would have done (dry_run=yes), as a dry-run reset's ----
for how in "" --seccomp; do
	cfg=$(config dry.cfg "version = 1; log: { syslog = false; file = \"$T/dry$how.log\"; };
rules = ( { name = \"dry\"; dst = \"127.0.0.1\"; port = $SMALL; action = \"pass\"; slice = 100; slice_ms = 30; dry_run = true; } );")
	"$CLI" run $how -c "$cfg" -- $PY "$SC" sizes "$SMALL" > "$T/dry.out" 2>&1
	expect_grep "the largest [0-9]{4} bytes" "$T/dry.out" "a dry run of a pass that shapes${how:+ under run $how}: not shaped ($(head -n 1 "$T/dry.out"))"
	expect_grep "^${STAMP}result=connected simulated=no rule=dry action=pass dry_run=yes pid=[0-9]+ uid=[0-9]+ comm=python3 dst=127.0.0.1:$SMALL proto=tcp$" \
		"$T/dry$how.log" "its connect's line at level failures says dry_run=yes${how:+ under run $how}"
	expect_no_grep "result=shaped" "$T/dry$how.log" "no result=shaped line in a dry run${how:+ under run $how}: nothing went through the relay"
	"$CLI" report "$T/dry$how.log" > "$T/report" 2>&1
	expect_grep "^  dry would have shaped 1 time \(really: 0 failed, 1 connected\)" "$T/report" "report: the dry run would have shaped${how:+ (run $how)}"
done
"$CLI" match "$cfg" "127.0.0.1:$SMALL" > "$T/match" 2>&1
expect_grep "action=pass slice=100 slice_ms=30 direction=both dry_run=yes log=failures" "$T/match" "match: the dry run of a pass that shapes"
expect_grep "^  dry run: none of this is made" "$T/match" "match: says the dry run is not relayed"

# ---- no relay (the library preloaded by hand): passed untouched, one line says why ----
cfg=$(shape_rules slow "latency_ms = 1000;" "$ECHO")
CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $PY "$SC" rtt "$ECHO" 5 > "$T/norelay.out" 2> "$T/norelay.err"
norelay_ms=$(ms "$T/norelay.out")
expect_eq "$(cat "$T/norelay.out")" "5 round trips" "no relay: the connection passes"
# Shaped, they could not take less than 10 s: no load makes a direct run look shaped.
[ "$norelay_ms" -lt 10000 ] || fail "no relay: 5 round trips took $norelay_ms ms, as if shaped"
ok "no relay: unshaped ($norelay_ms ms for 5 round trips; at least 10,000 shaped)"
expect_grep "rule slow: shaping needs a relay, and none is named \\(CONNREFUSE_RELAY is not set" "$T/norelay.err" \
	"no relay: one line says why"

# ---- every combination that cannot hold: a config error ----
bad() {
	config bad.cfg "version = 1;
rules = ( { name = \"b\"; $1 } );" > /dev/null
	"$CLI" check "$T/bad.cfg" > /dev/null 2> "$T/bad.err"
	rc=$?
	[ $rc = 1 ] || fail "check of { $1 } exited $rc, not 1"
	expect_grep "bad.cfg:2: rule \"b\": $2" "$T/bad.err" "config error: { $1 }"
}
bad 'dst = "10.0.0.1"; action = "pass"; jitter_ms = 5;' "jitter_ms varies latency_ms: give latency_ms too"
bad 'dst = "10.0.0.1"; action = "pass"; latency_ms = 5; jitter_ms = 6;' "jitter_ms 6 is more than latency_ms 5"
bad 'dst = "10.0.0.1"; action = "pass"; slice_ms = 5;' "slice_ms is the delay between the pieces slice cuts: give slice too"
bad 'dst = "10.0.0.1"; action = "pass"; bandwidth = 0;' "bandwidth 0 would pass nothing"
bad 'dst = "10.0.0.1"; action = "pass"; slice = 0;' "slice 0 cuts nothing"
for a in refuse drop log; do
	bad "dst = \"10.0.0.1\"; action = \"$a\"; latency_ms = 5;" "latency_ms shapes a relayed connection: it goes with action \"pass\" .*the action here is \"$a\""
done
bad 'dst = "10.0.0.1"; action = "fail"; errno = "ETIMEDOUT"; bandwidth = 5;' "bandwidth shapes a relayed connection"
bad 'host = "x.example"; action = "pass"; latency_ms = 5;' "latency_ms shapes a TCP connection; a host rule acts on name look-ups"
bad 'path = "/tmp/x.sock"; action = "pass"; slice = 5;' "slice shapes TCP connections .*cannot go with path"
bad 'proto = "udp"; action = "pass"; latency_ms = 5;' "latency_ms shapes TCP connections .*proto \"unix\" or \"udp\""
bad 'proto = "unix"; action = "pass"; bandwidth = 5;' "bandwidth shapes TCP connections .*proto \"unix\" or \"udp\""
bad 'dst = "10.0.0.1"; action = "pass"; latency_ms = 5; after_bytes = 3;' "after_bytes fires a fault, and a pass that shapes has none"
bad 'dst = "10.0.0.1"; action = "pass"; direction = "in";' "direction goes with a fault after connect .* or a pass that shapes"
config bad.cfg 'version = 1; default_action = "pass"; latency_ms = 5;' > /dev/null
"$CLI" check "$T/bad.cfg" > /dev/null 2> "$T/bad.err" && fail "latency_ms at the top level was taken"
expect_grep "unknown key 'latency_ms'" "$T/bad.err" "config error: no shaping at the top level (default_action)"

