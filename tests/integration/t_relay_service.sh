# connrefuse relay, the relay as a service: programs with the library
# preloaded by hand (no connrefuse run) find it at the rules' relay.socket
# and get their faults after connect from it, compared with real
# misbehaving servers as t_relay does; a program of another user is served
# (the socket's folder is the gate); 1,000 connections at once through it,
# its descriptors bounded and none left after; the service killed, gone,
# ended by SIGTERM; its refusals (as root without --user, a second relay,
# a folder it cannot make); check and the new key's errors; the unit file.
. "$(dirname "$0")/lib.sh"
N=1000
# 1,000 connections held at once by the client, the relay and the servers.
ulimit -n 8192 2> /dev/null || { echo "cannot raise the descriptor limit to 8192 here"; exit 77; }

# server TAG MODE [N]: the port of a new faultserver.py.
server() {
	f=$T/server.$1.port
	shift
	$PY "$HERE/faultserver.py" "$f" "$@" > /dev/null 2>&1 &
	echo $! >> "$T/pids"
	wait_for test -s "$f" || fail "faultserver $1 did not start"
	cat "$f"
}
GOOD_R=$(server r normal)
GOOD_C=$(server c normal)
GOOD_S=$(server s hold)
HOLD=$(server hold hold)
FLOW=$(server flow normal)
RESET=$(server reset reset $N)
CLOSE=$(server close close $N)
MUTE=$(server mute mute)

# A folder every user can read: the library, the client, the rules, the
# log; the socket's folder is the service user's (nobody).
D=$(public_lib_dir)
PUBLIC_LIB=$D/libconnrefuse.so
cp "$HERE/faultclient.py" "$D/" && chmod 644 "$D/faultclient.py"
mkdir -m 755 "$D/run" && chown nobody "$D/run"
SOCK=$D/run/relay.sock
: > "$D/relay.log" && chmod 666 "$D/relay.log"
CFG=$D/relay.cfg
cat > "$CFG" << EOF
version = 1;
log: { syslog = false; file = "$D/relay.log"; rate = 0; };
relay = { socket = "$SOCK"; };
rules = (
  { name = "cut"; dst = "127.0.0.1"; port = $GOOD_R; action = "reset"; after_bytes = $N; direction = "in"; },
  { name = "eof"; dst = "127.0.0.1"; port = $GOOD_C; action = "close"; after_bytes = $N; direction = "in"; },
  { name = "hush"; dst = "127.0.0.1"; port = $GOOD_S; action = "stall"; direction = "in"; },
  { name = "pipe"; dst = "127.0.0.1"; port = [$HOLD, $FLOW]; action = "reset"; after_bytes = 100000000; }
);
EOF
chmod 644 "$CFG"
C=$D/faultclient.py

# start_service: the service, as nobody; its PID in SVC.
start_service() {
	"$CLI" relay -c "$CFG" --user nobody 2>> "$T/svc.err" &
	SVC=$!
	PIDS="$PIDS $SVC"
	wait_for test -S "$SOCK" || { cat "$T/svc.err"; fail "the relay service did not start"; }
	wait_for grep -q "listening at $SOCK" "$T/svc.err" || fail "the relay did not say where it listens"
}

# Refusals first: as root without --user; a folder it cannot make.
"$CLI" relay -c "$CFG" > /dev/null 2> "$T/root.err" &
ROOT=$!
wait_for grep -qE "listening at|not as root" "$T/root.err"
if grep -q "listening at" "$T/root.err"; then kill $ROOT; wait $ROOT; fail "the relay ran as root without --user"; fi
wait $ROOT
expect_eq "$?" 1 "as root without --user: exit 1"
expect_grep "^connrefuse: relay: not as root: .* give --user NAME" "$T/root.err" "as root without --user: refused, with the fix"
mkdir -m 755 "$D/ro"
sed "s#$SOCK#$D/ro/sub/relay.sock#" "$CFG" > "$D/ro.cfg"
"$CLI" relay -c "$D/ro.cfg" --user nobody 2> "$T/ro.err"
expect_eq "$?" 1 "a folder it cannot make: exit 1"
expect_grep "^connrefuse: relay: cannot make the folder $D/ro/sub: Permission denied \\(make it, writable by uid 65534" "$T/ro.err" \
	"a folder it cannot make: the path and the fix"

# A file of another kind at the path is not the relay's to remove.
: > "$SOCK" && chmod 666 "$SOCK"
"$CLI" relay -c "$CFG" --user nobody 2> "$T/file.err"
expect_eq "$?" 1 "a plain file at the socket's path: exit 1"
expect_grep "^connrefuse: relay: $SOCK is there and cannot be replaced: Socket operation on non-socket \\(remove it" "$T/file.err" \
	"a plain file at the socket's path: left alone, said"
test -f "$SOCK" && rm "$SOCK"

start_service
expect_grep "^connrefuse: relay: listening at $SOCK as uid 65534, with [0-9]+ descriptors for its connections" "$T/svc.err" "the service listens as nobody"
expect_eq "$(stat -c %a "$SOCK")" 666 "the socket is open to every user (mode 0666): its folder is the gate"
"$CLI" relay -c "$CFG" --user nobody 2> "$T/second.err"
expect_eq "$?" 1 "a second relay at the same path: exit 1"
expect_grep "^connrefuse: relay: another relay answers at $SOCK: one is enough" "$T/second.err" "a second relay: refused, saying why"
test -S "$SOCK" || fail "a second relay removed the first one's socket"

# same NAME ORACLE_PORT TARGET COMMAND: COMMAND (with $PORT) against the
# oracle, plain, then against TARGET with the library preloaded by hand
# (the service relays): the same output and exit status, ports masked.
same() {
	name=$1 oracle=$2 target=$3
	shift 3
	PORT=$oracle sh -c "$*" > "$T/oracle" 2>&1; echo "exit=$?" >> "$T/oracle"
	PORT=$target CONNREFUSE_CONFIG=$CFG LD_PRELOAD=$PRELOAD sh -c "$*" > "$T/rule" 2>&1; echo "exit=$?" >> "$T/rule"
	! grep -qE '^(Traceback|SyntaxError)|No such file' "$T/oracle" || { cat "$T/oracle"; fail "$name: the client failed to run"; }
	for f in oracle rule; do
		sed -E "s/\\b($oracle|$target)\\b/PORT/g; s/[0-9]+ (ms|milliseconds)/N \\1/g" "$T/$f" > "$T/$f.n"
	done
	cmp -s "$T/oracle.n" "$T/rule.n" || { diff "$T/oracle.n" "$T/rule.n"; fail "$name: the rule's output differs from the real server's"; }
	ok "$name: $(head -n 1 "$T/rule.n" | cut -c1-90) ($(tail -n 1 "$T/rule.n"))"
}
CURL="curl -sS -o /dev/null -w '%{size_download} bytes\\n' http://127.0.0.1:\$PORT/"
same "reset after $N bytes, python socket, LD_PRELOAD by hand" $RESET $GOOD_R "$PY $C raw \$PORT"
have_curl && same "reset after $N bytes, curl, LD_PRELOAD by hand" $RESET $GOOD_R "$CURL"
same "close after $N bytes, python socket, LD_PRELOAD by hand" $CLOSE $GOOD_C "$PY $C raw \$PORT"
have_curl && same "close after $N bytes, curl, LD_PRELOAD by hand" $CLOSE $GOOD_C "$CURL"
same "stall in, python socket read with a 1 s timeout" $MUTE $GOOD_S "$PY $C wait \$PORT"
have_curl && same "stall in, curl --max-time 1" $MUTE $GOOD_S "curl -sS --max-time 1 -o /dev/null http://127.0.0.1:\$PORT/"
expect_grep "^${STAMP}result=reset simulated=yes rule=cut action=reset pid=[0-9]+ uid=0 comm=python3 dst=127\\.0\\.0\\.1:$GOOD_R proto=tcp sent=[0-9]+ received=$N after_ms=[0-9]+\$" \
	"$D/relay.log" "the service logs the reset, with who asked (pid, uid)"
# (The last close was curl's; python's under the sanitizers, which leave curl out.)
closer=curl
[ -z "${CR_SANITIZE:-}" ] || closer=python3
expect_grep "^${STAMP}result=closed simulated=yes rule=eof action=close .* uid=0 comm=$closer .* received=$N " "$D/relay.log" "the service logs the close"
expect_grep "^${STAMP}result=stalled simulated=yes rule=hush action=stall " "$D/relay.log" "the service logs the stall"

# A compiled rules file carries relay.socket to the library too.
"$CLI" compile "$CFG" -o "$D/relay.compiled" > /dev/null || fail "compile"
chmod 644 "$D/relay.compiled"
PORT=$RESET $PY "$C" raw $RESET > "$T/c.oracle" 2>&1
CONNREFUSE_CONFIG=$D/relay.compiled LD_PRELOAD=$PRELOAD $PY "$C" raw $GOOD_R > "$T/c.rule" 2>&1
expect_eq "$(cat "$T/c.rule")" "$(cat "$T/c.oracle")" "a compiled rules file: the library finds the service (reset after $N bytes)"

# Another user's program (uid 1234, no passwd entry) through the service
# (nobody): served, and logged with its uid.
as_other() { setpriv --reuid=1234 --regid=1234 --clear-groups env CONNREFUSE_CONFIG=$CFG LD_PRELOAD=$PUBLIC_LIB "$@"; }
$PY "$C" raw $RESET > "$T/o.oracle" 2>&1
as_other $PY "$C" raw $GOOD_R > "$T/o.rule" 2> "$T/o.err"
expect_eq "$(cat "$T/o.rule")" "$(cat "$T/o.oracle")" "a program of another user (uid 1234): reset after $N bytes, as the real server"
expect_grep "result=reset simulated=yes rule=cut action=reset pid=[0-9]+ uid=1234 comm=python3 " "$D/relay.log" "and logged with its uid"
# The folder is the gate: one the user cannot enter keeps it out (untouched, one line).
chmod 700 "$D/run"
$PY "$C" raw $GOOD_R > "$T/plain.out"
as_other $PY "$C" raw $GOOD_R > "$T/gate.out" 2> "$T/gate.err"
chmod 755 "$D/run"
expect_eq "$(cat "$T/gate.out")" "$(cat "$T/plain.out")" "a user the socket's folder keeps out: the connection passes untouched"
expect_grep "rule cut: a fault after connect needs a relay, and none answers at $SOCK \\(Permission denied; the rules' relay.socket" "$T/gate.err" \
	"a user the socket's folder keeps out: one line says why"

# CONNREFUSE_RELAY (connrefuse run's own relay) wins over relay.socket.
CONNREFUSE_RELAY=$T/gone.sock CONNREFUSE_CONFIG=$CFG LD_PRELOAD=$PRELOAD $PY "$C" raw $GOOD_R > "$T/env.out" 2> "$T/env.err"
expect_eq "$(cat "$T/env.out")" "$(cat "$T/plain.out")" "CONNREFUSE_RELAY set: it is asked, not relay.socket (gone: untouched)"
expect_grep "none answers at $T/gone.sock \\(No such file or directory; CONNREFUSE_RELAY, connrefuse run's\\)" "$T/env.err" "CONNREFUSE_RELAY set: the line names it"

# 1,000 connections at once through the service: each reads its whole
# answer while all are open (the server then closes its side); 2
# descriptors a connection; none left after the program closed them.
CONNREFUSE_CONFIG=$CFG LD_PRELOAD=$PRELOAD $PY "$C" flow $FLOW 1000 $SVC > "$T/flow.out" 2> "$T/flow.err" || { cat "$T/flow.err"; fail "1,000 connections: the client failed"; }
expect_eq "$(sed -n 1p "$T/flow.out")" "1000 connections at once, 1000 relayed; 5060000 bytes read of 5060000" "1,000 connections at once, all relayed, all data through"
expect_eq "$(sed -n 2p "$T/flow.out")" "the relay holds 2.0 descriptors a relayed connection" "1,000 connections: the relay holds 2 descriptors each"
expect_eq "$(sed -n 3p "$T/flow.out")" "after they closed: 0 descriptors more than before" "1,000 connections: none left once they closed"

# SIGHUP reloads nothing, and says so; the service goes on.
kill -HUP $SVC
wait_for grep -q "SIGHUP: nothing is reloaded" "$T/svc.err" || fail "SIGHUP: no line"
$PY "$C" raw $RESET > "$T/h.oracle" 2>&1
CONNREFUSE_CONFIG=$CFG LD_PRELOAD=$PRELOAD $PY "$C" raw $GOOD_R > "$T/h.rule" 2>&1
expect_eq "$(cat "$T/h.rule")" "$(cat "$T/h.oracle")" "SIGHUP: said, and the service goes on"

# The service killed (SIGKILL) while it holds an answered connection: the
# program reads end of file, as from any peer process that dies; its next
# connections pass untouched, with exactly one line.
CONNREFUSE_CONFIG=$CFG LD_PRELOAD=$PRELOAD $PY "$C" orphan $HOLD $GOOD_R $SVC > "$T/orphan.out" 2> "$T/orphan.err"
wait $SVC 2> /dev/null
expect_eq "$(sed -n 1p "$T/orphan.out")" "the held connection, relay killed: read 0 bytes, EOF" "the service killed: a held connection reads EOF"
expect_eq "$(sed -n 2,3p "$T/orphan.out" | sort -u)" "$(cat "$T/plain.out")" "the service killed: new connections pass untouched"
expect_grep "rule cut: a fault after connect needs a relay, and none answers at $SOCK \\(Connection refused; the rules' relay.socket: is connrefuse relay running there\\?\\): its connections pass untouched" \
	"$T/orphan.err" "the service killed: the line says why"
expect_eq "$(grep -c 'needs a relay' "$T/orphan.err")" 1 "the service killed: exactly one line for two connections"

# Its socket left behind: a new service replaces it (nobody answers there).
test -S "$SOCK" || fail "the killed service's socket is not there (the stale case is not tested)"
: > "$T/svc.err"
start_service
ok "a stale socket (nobody answers at it): a new service replaces it"
CONNREFUSE_CONFIG=$CFG LD_PRELOAD=$PRELOAD $PY "$C" raw $GOOD_R > "$T/s.rule" 2>&1
expect_eq "$(cat "$T/s.rule")" "$(cat "$T/h.oracle")" "the new service relays"

# SIGTERM: a clean end, the socket removed; then no service at the path:
# untouched, exactly one line.
kill -TERM $SVC
wait $SVC
expect_eq "$?" 0 "SIGTERM: the service exits 0"
expect_grep "^connrefuse: relay: ended: [0-9]+ connections? relayed, 0 passed untouched" "$T/svc.err" "SIGTERM: it says what it served"
test ! -e "$SOCK" || fail "SIGTERM: the socket is still there"
ok "SIGTERM: the socket is removed"
CONNREFUSE_CONFIG=$CFG LD_PRELOAD=$PRELOAD $PY -c "
import subprocess, sys
subprocess.run([sys.executable, '$C', 'raw', '$GOOD_R'])
subprocess.run([sys.executable, '$C', 'raw', '$GOOD_R'])
" > "$T/none.out" 2> "$T/none.err"
expect_eq "$(sort -u "$T/none.out")" "$(cat "$T/plain.out")" "no service at the path: untouched"
expect_grep "rule cut: a fault after connect needs a relay, and none answers at $SOCK \\(No such file or directory; the rules' relay.socket" "$T/none.err" \
	"no service at the path: the line names the path"
expect_eq "$(grep -c 'needs a relay' "$T/none.err")" 2 "no service at the path: one line a process"

# check: the key printed; its errors.
"$CLI" check "$CFG" > "$T/check.out" || fail "check"
expect_grep "^relay = \\{ socket = \"$SOCK\"; \\};\$" "$T/check.out" "check prints relay.socket"
"$CLI" check "$D/relay.compiled" > "$T/checkc.out" || fail "check of the compiled file"
expect_grep "^relay = \\{ socket = \"$SOCK\"; \\};\$" "$T/checkc.out" "check prints relay.socket of a compiled file"
bad() {
	printf 'version = 1;\n%s\n' "$2" > "$T/bad.cfg"
	"$CLI" check "$T/bad.cfg" > /dev/null 2> "$T/bad.err" && fail "$1: check passed"
	expect_grep "$3" "$T/bad.err" "$1: a config error"
}
bad "a relative relay.socket" 'relay = { socket = "run/relay.sock"; };' \
	'bad\.cfg:2: relay\.socket "run/relay\.sock" must be an absolute path of at most 107 characters'
bad "a relay.socket too long" "relay = { socket = \"/$(printf '%0120d' 0)\"; };" 'must be an absolute path of at most 107 characters'
bad "an unknown key in relay" 'relay = { sock = "/run/x.sock"; };' "bad\\.cfg:2: unknown key 'relay\\.sock' \\(relay takes: socket\\)"
bad "relay not a group" 'relay = "/run/x.sock";' 'bad\.cfg:2: relay must be a group'
printf 'version = 1;\nrules = ();\n' > "$D/nosock.cfg"; chmod 644 "$D/nosock.cfg"
"$CLI" relay -c "$D/nosock.cfg" --user nobody 2> "$T/nosock.err"
expect_eq "$?" 1 "a rules file without relay.socket: exit 1"
expect_grep "has no relay.socket, .*add relay = \\{ socket = " "$T/nosock.err" "a rules file without relay.socket: the fix"

# The unit file.
UNIT=$HERE/../../examples/connrefuse-relay.service
test -f "$UNIT" || fail "no unit file in examples/"
if command -v systemd-analyze > /dev/null; then
	# The unit names the installed command; verify checks that it exists.
	mkdir -p "$T/unit"
	sed "s#/usr/local/bin/connrefuse#$CLI#g" "$UNIT" > "$T/unit/connrefuse-relay.service"
	systemd-analyze verify --man=no "$T/unit/connrefuse-relay.service" > "$T/verify" 2>&1 || { cat "$T/verify"; fail "systemd-analyze verify: the unit"; }
	expect_no_grep "connrefuse-relay" "$T/verify" "systemd-analyze verify: nothing said of the unit"
else
	echo "note: no systemd-analyze here: the unit is not verified"
fi
