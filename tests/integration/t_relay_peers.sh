# getpeername() of relayed sockets beyond the tables that answer it: the
# library's (256 sockets a process) and run --seccomp's supervisor's
# (1,024 across the program's processes). peerbound.c makes the
# connections under a stall rule (at once: nothing reaches the program)
# against a server that holds every connection it accepts.
#  - Sockets closed are forgotten first: one socket held from the start,
#    then more connections than the table holds, one after another, each
#    asked and closed (in the library also by dup2() onto it, which the
#    library does not see): every one, and the one held, answer the
#    destination.
#  - Truly more open at once: the library answers the first 256 and the
#    relay's address for the newest; the supervisor forgets the oldest.
. "$(dirname "$0")/lib.sh"

# A server that accepts and holds every connection, reading nothing.
f=$T/keep.port
$PY - "$f" > /dev/null 2>&1 << 'EOF' &
import os, socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(4096)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
held = []
while True:
    held.append(s.accept()[0])
EOF
echo $! >> "$T/pids"
wait_for test -s "$f" || fail "the holding server did not start"
KEEP=$(cat "$f")
# (No rate limit: each stall's line, whatever the pace.)
cfg=$(config hush.cfg "version = 1; log: { syslog = false; file = \"$T/hush.log\"; rate = 0; };
rules = ( { name = \"hush\"; dst = \"127.0.0.1\"; port = $KEEP; action = \"stall\"; direction = \"in\"; } );")

# ---- the library: 256 a process ----
"$CLI" run -c "$cfg" -- "$HELPERS/peerbound" "$KEEP" 1 300 > "$T/lib.close" 2>&1
expect_eq "$(cat "$T/lib.close")" "cycles: 300 of 300 answered 127.0.0.1:$KEEP
held: 1 of 1 answered 127.0.0.1:$KEEP; other: none" "library: 300 relayed one after another, closed: each, and one held from the start, answer the destination"
"$CLI" run -c "$cfg" -- "$HELPERS/peerbound" "$KEEP" 1 300 dup2 > "$T/lib.dup2" 2>&1
expect_eq "$(cat "$T/lib.dup2")" "cycles: 300 of 300 answered 127.0.0.1:$KEEP
held: 1 of 1 answered 127.0.0.1:$KEEP; other: none" "library: 300 closed by dup2() onto them, unseen: the closed ones are forgotten when the table is full"
# An entry answers while its socket is the relay's: a dup answers once the
# original is closed, and a socket disconnected and connected elsewhere
# (untouched: no rule) says where.
"$CLI" run -c "$cfg" -- "$HELPERS/peerbound" "$KEEP" 3 0 dup > "$T/lib.dup" 2>&1
expect_eq "$(sed -n 2p "$T/lib.dup")" "held: 3 of 3 answered 127.0.0.1:$KEEP; other: none" "library: a dup of a relayed socket, the original closed, answers the destination"
OTHER=$(fault_server hold)
"$CLI" run -c "$cfg" -- "$HELPERS/peerbound" "$KEEP" 3 0 again "$OTHER" > "$T/lib.again" 2>&1
expect_eq "$(cat "$T/lib.again")" "cycles: 0 of 0 answered 127.0.0.1:$KEEP
held: 3 of 3 answered 127.0.0.1:$OTHER; other: none" "library: a relayed socket disconnected (AF_UNSPEC) and connected elsewhere directly answers its new peer"
"$CLI" run -c "$cfg" -- "$HELPERS/peerbound" "$KEEP" 257 0 > "$T/lib.held" 2>&1
expect_eq "$(sed -n 2p "$T/lib.held")" "held: 256 of 257 answered 127.0.0.1:$KEEP; other: 256" \
	"library: 257 open at once: the first 256 answer the destination, the newest the relay's address"

# ---- run --seccomp: 1,024 across the program's processes ----
if ! out=$("$CLI" run --seccomp -- true 2>&1); then
	echo "seccomp user notification unavailable here: $out"
	exit 0
fi
SB=$HELPERS/static-peerbound
"$CLI" run --seccomp -c "$cfg" -- "$SB" "$KEEP" 1 1100 > "$T/sv.close" 2>&1
expect_eq "$(cat "$T/sv.close")" "cycles: 1100 of 1100 answered 127.0.0.1:$KEEP
held: 1 of 1 answered 127.0.0.1:$KEEP; other: none" "run --seccomp: 1,100 relayed one after another, closed: each, and one held from the start, answer the destination (the closed ones forgotten first)"
"$CLI" run --seccomp -c "$cfg" -- "$SB" "$KEEP" 1025 0 > "$T/sv.held" 2>&1
expect_eq "$(sed -n 2p "$T/sv.held")" "held: 1024 of 1025 answered 127.0.0.1:$KEEP; other: 0" \
	"run --seccomp: 1,025 open at once: the oldest is forgotten (it answers the relay's address), the other 1,024 the destination"
