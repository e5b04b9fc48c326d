# Faults after connect (reset, close, stall) against the real thing: a
# server that resets after N bytes (SO_LINGER 0), one that closes after N
# bytes, one that stops reading and answering; the same fault made by a
# rule, through connrefuse run's relay, on a server that behaves. Each
# client's output and exit status must be the same both ways; getpeername
# says the destination the program asked for; a destination that refuses
# refuses the program as it would have; with no relay the connection
# passes untouched, with one line that says why.
. "$(dirname "$0")/lib.sh"
fault_setup

C=$HERE/faultclient.py
CURL="curl -sS -o /dev/null -w '%{size_download} bytes\\n' http://127.0.0.1:\$PORT/"
for fault in reset close; do
	if [ $fault = reset ]; then o=$RESET cfg=$CFG_RESET; else o=$CLOSE cfg=$CFG_CLOSE; fi
	same_fault "$fault after $N bytes, python socket" $o "$cfg" "$PY $C raw \$PORT"
	same_fault "$fault after $N bytes, python http.client" $o "$cfg" "$PY $C http \$PORT"
	same_fault "$fault after $N bytes, python urllib" $o "$cfg" "$PY $C urllib \$PORT"
	same_fault "$fault after $N bytes, python asyncio streams" $o "$cfg" "$PY $C asyncio \$PORT"
	have_curl && same_fault "$fault after $N bytes, curl" $o "$cfg" "$CURL"
	same_fault "$fault after $N bytes, C on epoll" $o "$cfg" "$HELPERS/epollclient \$PORT"
	# node (libuv) reads a RST that follows data at once as ECONNRESET or as
	# EOF, by chance, against a real server too (9 and 11 of 20 here): it
	# is compared on the close, and on a reset that comes later (below).
	[ $fault = close ] && command -v node > /dev/null && same_fault "$fault after $N bytes, node net" $o "$cfg" "node $HERE/faultclient.js \$PORT"
done

# after_ms: the fault that many ms after the connect, on a server that
# keeps the connection open; the oracle answers, then resets or closes
# that late. Times within 20%.
CFG_RESET_MS=$(fault_rules cutms reset "after_ms = $MS;" $HOLD)
CFG_CLOSE_MS=$(fault_rules eofms close "after_ms = $MS;" $HOLD)
TARGET=$HOLD TIMED=1 # (set, not prefixed: dash drops a prefix across functions)
same_fault "reset after $MS ms, python socket" $LATE_RESET "$CFG_RESET_MS" "$PY $C raw \$PORT"
same_fault "close after $MS ms, python socket" $LATE_CLOSE "$CFG_CLOSE_MS" "$PY $C raw \$PORT"
same_fault "reset after $MS ms, python asyncio streams" $LATE_RESET "$CFG_RESET_MS" "$PY $C asyncio \$PORT"
same_fault "reset after $MS ms, C on epoll" $LATE_RESET "$CFG_RESET_MS" "$HELPERS/epollclient \$PORT"
command -v node > /dev/null && same_fault "reset after $MS ms, node net" $LATE_RESET "$CFG_RESET_MS" "node $HERE/faultclient.js \$PORT"
unset TARGET TIMED
expect_grep "^${STAMP}result=reset simulated=yes rule=cut action=reset pid=[0-9]+ uid=[0-9]+ comm=python3 dst=127\\.0\\.0\\.1:$GOOD proto=tcp sent=[0-9]+ received=$N after_ms=[0-9]+\$" \
	"$T/cut.log" "a reset is logged with the bytes each way and the time since the connect"
expect_grep "^${STAMP}result=closed simulated=yes rule=eof action=close .* received=$N after_ms=[0-9]+\$" \
	"$T/eof.log" "a close is logged"

# A stall: the program's reads wait (its own timeout ends them), its
# writes block once the buffers are full, as with a peer that stopped.
same_fault "stall in, python socket read with a 1 s timeout" $MUTE "$CFG_STALL_IN" "$PY $C wait \$PORT"
have_curl && same_fault "stall in, curl --max-time 1" $MUTE "$CFG_STALL_IN" "curl -sS --max-time 1 -o /dev/null http://127.0.0.1:\$PORT/"
same_fault "stall in, C on epoll waiting 1 s" $MUTE "$CFG_STALL_IN" "$HELPERS/epollclient \$PORT wait"
same_fault "stall out, python socket writes with a 1 s timeout" $MUTE "$CFG_STALL_OUT" "$PY $C flood \$PORT"
expect_grep "^${STAMP}result=stalled simulated=yes rule=hush action=stall .* sent=0 received=0 after_ms=[0-9]+\$" \
	"$T/hush.log" "a stall is logged"

# getpeername: the destination the program asked for, not the relay.
same_fault "getpeername under the rule" $GOOD "$CFG_RESET" "$PY $C peer \$PORT"

# Streams: a way that carries one goes through its buffer of 1 MiB, with
# the same limits as a few bytes do. 64 MiB arrive byte-exact each way
# under a rule whose fault never fires; a close after CUT bytes of a 64 MiB
# stream lets exactly CUT through, either way; a reset after CUT bytes
# passes exactly CUT (the line says so), of which the program reads a
# start (bytes still queued toward a program that has not read them are
# dropped by the RST, as a real server's are).
BIG=$((64 << 20)) CUT=10000019
STREAM=$(fault_server stream $BIG)
STREAM_CLOSE=$(fault_server stream-close $CUT)
SINK=$(fault_server sink)
TARGET=$STREAM
same_fault "$BIG bytes through the relay, byte-exact" $STREAM "$(fault_rules never reset "after_bytes = 1000000000000;" $STREAM)" "$PY $C sum \$PORT"
same_fault "close after $CUT bytes of a $BIG-byte stream" $STREAM_CLOSE "$(fault_rules bigcut close "after_bytes = $CUT; direction = \"in\";" $STREAM)" \
	"$PY $C sum \$PORT"
unset TARGET
"$CLI" run -c "$(fault_rules bigreset reset "after_bytes = $CUT; direction = \"in\";" $STREAM)" -- $PY "$C" sum $STREAM > "$T/bigreset.out" 2>&1
expect_grep "^the first [0-9]+ bytes of the stream: yes\$" "$T/bigreset.out" "reset after $CUT bytes of a stream: the program read the stream's start"
read_n=$(sed -n 's/^read \([0-9]*\) bytes, then ECONNRESET$/\1/p' "$T/bigreset.out")
[ -n "$read_n" ] && [ "$read_n" -le $CUT ] || { cat "$T/bigreset.out"; fail "reset after $CUT bytes of a stream: not at most $CUT bytes, then ECONNRESET"; }
ok "reset after $CUT bytes of a stream: $read_n bytes read, then ECONNRESET"
expect_grep "^${STAMP}result=reset simulated=yes rule=bigreset .* received=$CUT after_ms=[0-9]+\$" "$T/bigreset.log" \
	"reset after $CUT bytes of a stream: exactly $CUT passed toward the program"
"$CLI" run -c "$(fault_rules up reset "after_bytes = 1000000000000;" $SINK)" -- $PY "$C" upload $SINK $BIG > "$T/up.out" 2>&1
GOT=$(echo "$T"/server.*.got) # (the sink's, beside its port file)
expect_eq "$(cat "$T/up.out")" "sent $BIG bytes, then EOF" "$BIG bytes sent through the relay"
expect_eq "$(cat "$GOT")" "the server read $BIG bytes, STREAM's first: yes" "$BIG bytes sent through the relay arrive byte-exact"
"$CLI" run -c "$(fault_rules upcut close "after_bytes = $CUT; direction = \"out\";" $SINK)" -- $PY "$C" upload $SINK $BIG > /dev/null 2>&1
wait_for sh -c '[ "$(wc -l < "$1")" -ge 2 ]' - "$GOT" || fail "close after $CUT bytes sent: the server did not see the end"
expect_eq "$(sed -n 2p "$GOT")" "the server read $CUT bytes, STREAM's first: yes" "close after $CUT bytes sent: exactly $CUT reach the server"

# The destination first: one that refuses refuses the program, through
# the kernel, as it would have (no connect that succeeds, then a reset).
DEAD=$(closed_port)
have_curl && CURL_DEAD="curl -sS http://127.0.0.1:\$PORT/"
DEAD_CFG=$(config dead.cfg "version = 1; log: { syslog = false; file = \"$T/dead.log\"; };
rules = ( { name = \"dead\"; dst = \"127.0.0.1\"; port = $DEAD; action = \"reset\"; after_bytes = 10; } );")
same_refusal "$DEAD_CFG" $DEAD "$PY $C raw \$PORT" "$PY $C http \$PORT" ${CURL_DEAD:+"$CURL_DEAD"}

# Bounded descriptors: 300 connections at once under a stall, the relay's
# descriptors limited to 1,024 (240 connections at 4 each, less a margin):
# 240 relayed at 2 descriptors each once made, the rest untouched, counted
# and said once; none left once they closed.
CFG_MANY=$(config many.cfg "version = 1; log: { syslog = false; file = \"$T/many.log\"; rate = 0; };
rules = ( { name = \"many\"; dst = \"127.0.0.1\"; port = $GOOD; action = \"stall\"; } );")
(ulimit -n 1024 && "$CLI" run -c "$CFG_MANY" -- $PY "$C" many $GOOD 300) > "$T/many.out" 2> "$T/many.err" || fail "300 connections under a stall: exit $?"
expect_eq "$(sed -n 1p "$T/many.out")" "300 connections, getpeername the destination for 300; 240 relayed, 60 untouched" \
	"300 connections, a relay of 1,024 descriptors: 240 relayed, the rest untouched"
expect_eq "$(sed -n 2p "$T/many.out")" "the relay holds 2.0 descriptors a relayed connection" "the relay holds 2 descriptors a connection"
expect_eq "$(sed -n 3p "$T/many.out")" "after they closed: 0 descriptors more than before" "none left once they closed"
expect_eq "$(grep -c 'the most its descriptors allow' "$T/many.err")" 1 "a full relay says so once"
expect_grep "^connrefuse: relay: 60 connections passed untouched: the relay was full\$" "$T/many.err" "and counts what it let pass"

# A stream counts in the relay's descriptors as any connection: with 4
# left (a limit of 68, less the margin of 64), a stream takes them all
# (the 4 it holds while it is made) and holds its two sockets, no more: a
# connection meanwhile passes untouched; once the stream closed, its 4
# are given back (three times: 4 kept would leave the second stream none).
CFG_BUDGET=$(config budget.cfg "version = 1; log: { syslog = false; level = \"none\"; };
rules = ( { name = \"budget\"; dst = \"127.0.0.1\"; port = [$STREAM, $GOOD]; action = \"reset\"; after_bytes = 1000000000000; } );")
(ulimit -n 68 && "$CLI" run -c "$CFG_BUDGET" -- $PY "$C" budget $STREAM $GOOD) > "$T/budget.out" 2> "$T/budget.err" || fail "a stream under a limit of 68 descriptors: exit $?"
expect_eq "$(sed -n 1,3p "$T/budget.out" | sort -u)" "a stream: the relay holds 2 descriptors for it; a connection meanwhile: untouched; once it closed: 0 more" \
	"three streams, one after another: each its two sockets, a connection meanwhile untouched, none left after"
expect_eq "$(sed -n 4p "$T/budget.out")" "a connection then: relayed" "the streams closed: their descriptors given back to the limit"

# A stream's buffer is given back once it waits: 8 streams of 4 MiB, each
# read whole and its connection held open, grow the relay by their
# buffers' pages (up to 1 MiB a way), which it returns to the kernel a
# second after each last read, while the connections stay.
IDLE=$(fault_server stream $((4 << 20)))
"$CLI" run -c "$(fault_rules idle reset "after_bytes = 1000000000000;" $IDLE)" -- $PY "$C" idle $IDLE 8 > "$T/idle.out" 2>&1
expect_eq "$(cat "$T/idle.out")" "8 streams read and held: the relay grew by 256 KiB a stream or more: yes; once they waited: given back" \
	"8 streams read and held open: the relay's buffers given back while they wait"

# The relay killed (connrefuse run, with SIGKILL) while it holds an
# answered connection: the program reads end of file, as from any peer
# process that dies (with bytes of the program's unread, the kernel would
# send a RST instead, as for that peer); a new connection passes
# untouched, with one line that says why.
CFG_ORPHAN=$(config orphan.cfg "version = 1; log: { syslog = false; };
rules = ( { name = \"orphan\"; dst = \"127.0.0.1\"; port = [$HOLD, $GOOD]; action = \"reset\"; after_bytes = 1000000; } );")
"$CLI" run -c "$CFG_ORPHAN" -- $PY "$C" orphan $HOLD $GOOD > "$T/orphan.out" 2> "$T/orphan.err"
# (run is killed: the program goes on alone, and is waited for here.)
wait_for grep -q '^done$' "$T/orphan.out" || fail "the relay killed: the program did not finish"
expect_eq "$(sed -n 1p "$T/orphan.out")" "the held connection, relay killed: read 0 bytes, EOF" "the relay killed: a held connection reads EOF"
expect_eq "$(sed -n 2p "$T/orphan.out")" "read 5060 bytes, then EOF" "the relay killed: a new connection passes untouched"
expect_grep "rule orphan: a fault after connect needs a relay, and none answers at .*relay\.sock \(Connection refused; CONNREFUSE_RELAY, connrefuse run's\)" \
	"$T/orphan.err" "the relay killed: one line says why"

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
expect_grep "rule cut: a fault after connect needs a relay, and none is named \(CONNREFUSE_RELAY is not set: the program was not started by connrefuse run; the rules have no relay.socket for connrefuse relay\)" \
	"$T/norelay.err" "no relay: one line says why"
expect_eq "$(grep -c 'needs a relay' "$T/norelay.err")" 2 "no relay: one line a process"
# A relay named but gone: the same.
CONNREFUSE_RELAY=$T/gone.sock CONNREFUSE_CONFIG=$CFG_RESET LD_PRELOAD=$PRELOAD $PY "$C" raw "$GOOD" > "$T/gone.out" 2> "$T/gone.err"
expect_eq "$(cat "$T/gone.out")" "$(cat "$T/plain.out")" "a relay that is gone: the connection passes untouched"
expect_grep "none answers at $T/gone.sock" "$T/gone.err" "a relay that is gone: one line says why"

# A rule set that gains its first fault by a reload: run made its relay
# anyway (the rules came from a file), and the library finds it. One
# process: a connect untouched, the file replaced and reloaded, then the
# same connect reset after N bytes, as by the real server that resets.
# The new rules name another log.file: the relay's line goes there.
cfg=$(config gain.cfg "version = 1; log: { syslog = false; file = \"$T/gain.log\"; };
rules = ( { name = \"plain\"; dst = \"127.0.0.1\"; port = $GOOD; action = \"pass\"; } );")
"$CLI" run -c "$cfg" -- $PY - "$CLI" "$cfg" "$GOOD" "$N" > "$T/gain.out" 2> "$T/gain.err" << 'PYEOF'
import os, socket, subprocess, sys
cli, cfg, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
def raw():
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    got, how = 0, "EOF"
    try:
        while b := s.recv(65536):
            got += len(b)
    except OSError as e:
        how = {104: "ECONNRESET"}.get(e.errno, e.errno)
    print("read %d bytes, then %s" % (got, how))
raw()
text = open(cfg).read().replace('action = "pass";', 'action = "reset"; after_bytes = %s; direction = "in";' % n)
open(cfg + ".new", "w").write(text.replace('"plain"', '"cut"').replace("gain.log", "gain2.log"))
os.rename(cfg + ".new", cfg)
env = dict(os.environ)
env.pop("LD_PRELOAD", None)
subprocess.run([cli, "reload", cfg], env=env, check=True)
raw()
PYEOF
expect_eq "$(cat "$T/gain.out")" "$(cat "$T/plain.out")
$(PORT=$RESET $PY "$C" raw "$RESET")" "a first fault rule brought by a reload: the connect before it untouched, the one after it reset after $N bytes, as by the real server"
expect_no_grep "needs a relay" "$T/gain.err" "a first fault rule brought by a reload: the library found run's relay"
expect_grep "^${STAMP}result=reset simulated=yes rule=cut action=reset .* received=$N " "$T/gain2.log" \
	"a first fault rule brought by a reload: the relay's line, in the log.file the reloaded rules name"
