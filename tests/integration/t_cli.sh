# The connrefuse command: run, check, match, decode.
. "$(dirname "$0")/lib.sh"
P=$(start_listener)
Q=$(start_listener)

# run --refuse: the program is refused on P and reaches Q.
if have_curl; then
	"$CLI" run --refuse "127.0.0.1:$P" -- curl -sS -o /dev/null "http://127.0.0.1:$P/" 2>/dev/null
	expect_eq "$?" 7 "run --refuse 127.0.0.1:P -- curl exits 7"
	"$CLI" run --refuse "127.0.0.1:$P" -- curl -sS -o /dev/null "http://127.0.0.1:$Q/"
	expect_eq "$?" 0 "run --refuse P -- curl reaches Q"
fi
"$CLI" run --refuse "127.0.0.1:$P" -- nc -z 127.0.0.1 "$P"
expect_eq "$?" 1 "run --refuse 127.0.0.1:P -- nc -z fails"
"$CLI" run --refuse "127.0.0.1:$P" -- nc -z 127.0.0.1 "$Q"
expect_eq "$?" 0 "run --refuse P -- nc -z reaches Q"
"$CLI" run --fail "ETIMEDOUT=127.0.0.1:$P" -- $PY -c "
import socket, sys
try:
    socket.create_connection(('127.0.0.1', $P)); print('connected')
except OSError as e:
    print(type(e).__name__, e.errno)" > "$T/out"
expect_eq "$(cat "$T/out")" "TimeoutError 110" "run --fail ETIMEDOUT=DST"
"$CLI" run --refuse "[::1]:$P" --refuse "/tmp/x.sock" --refuse "*.example.com" -- true
expect_eq "$?" 0 "run accepts [v6]:port, unix paths and host wildcards"

# A bad config stops run before the program starts, naming file and line.
bad=$(config bad.cfg 'version = 1;
rules = (
  { action = "refuse"; port = 70000; }
);')
"$CLI" run -c "$bad" -- touch "$T/started" 2> "$T/err"
rc=$?
[ "$rc" -ne 0 ] || fail "run -c bad.cfg succeeded"
ok "run -c bad.cfg fails (exit $rc)"
[ ! -e "$T/started" ] || fail "the program was started"
ok "the program was not started"
expect_grep "$bad:3: rule 1: port 70000 is out of range" "$T/err" "the message names file and line"

good=$(config ok.cfg 'version = 1;')
"$CLI" run -c "$good" -- sh -c 'exit 42'
expect_eq "$?" 42 "run passes the exit status through"
"$CLI" run --refuse 127.0.0.1:1 -- sh -c 'exit 43'
expect_eq "$?" 43 "run passes the exit status through (generated config)"
"$CLI" run --refuse 127.0.0.1:1 -- sh -c 'kill -TERM $$'
expect_eq "$?" 143 "run passes a death by signal through"
"$CLI" run -- /nonexistent/program 2>/dev/null
expect_eq "$?" 127 "run: program not found is 127"

other=$(gcc -print-file-name=libm.so.6)
out=$(LD_PRELOAD=$other "$CLI" run -c "$good" -- sh -c 'echo "$LD_PRELOAD|$CONNREFUSE_CONFIG"')
# The library as the command finds it (beside itself, symlinks resolved);
# a path the loader would split (a space, a colon) goes through an alias.
real_lib=$(cd -P "$CR_BUILD" && pwd)/libconnrefuse.so
case $real_lib in
*[[:space:]:]*) expect_eq "$(echo "$out" | sed 's#^/tmp/connrefuse-lib-[A-Za-z0-9]*/libconnrefuse.so:#ALIAS:#')" "ALIAS:$other|$good" \
	"run prepends an alias of the library (its path holds a space) to LD_PRELOAD" ;;
*) expect_eq "$out" "$real_lib:$other|$good" "run prepends the library's absolute path to LD_PRELOAD" ;;
esac

# check prints the rules as understood.
rules=$(config rules.cfg 'version = 1;
rules = (
  { name = "db"; dst = "10.0.0.0/8"; port = 5432; action = "refuse"; first = 3; },
  { name = "web"; dst = ["127.0.0.1", "::1"]; port = "8080-8090"; action = "fail"; errno = "ECONNRESET"; },
  { name = "sock"; path = "/run/*.sock"; action = "refuse"; },
  { name = "api"; dst = "*.example.com"; action = "refuse"; }
);')
"$CLI" check "$rules" > "$T/check.out"
expect_eq "$?" 0 "check accepts a good file"
expect_grep '^  \{ name = "db"; dst = "10.0.0.0/8"; port = 5432; action = "refuse"; first = 3; \},$' "$T/check.out" "check prints the rules"
"$CLI" check "$T/check.out" > /dev/null
expect_eq "$?" 0 "check's output is itself a valid config"

# match names the deciding rule.
m() { "$CLI" match "$rules" "$@" | tail -n 1; }
expect_grep . "$rules" "rules file"
expect_eq "$(m 10.1.2.3:5432)" "decided by rule db (line 3): action=refuse errno=ECONNREFUSED log=failures" "match: CIDR and port"
expect_eq "$(m '[::1]:8085')" "decided by rule web (line 4): action=fail errno=ECONNRESET log=failures" "match: IPv6 in a list, port range"
expect_eq "$(m '[::ffff:127.0.0.1]:8080')" "decided by rule web (line 4): action=fail errno=ECONNRESET log=failures" "match: v4-mapped"
expect_eq "$(m /run/docker.sock)" "decided by rule sock (line 5): action=refuse errno=ECONNREFUSED log=failures" "match: unix path glob"
expect_eq "$(m 10.9.9.9:443 --host API.example.com)" "decided by rule api (line 6): action=refuse errno=ECONNREFUSED log=failures" "match: --host wildcard"
expect_eq "$(m 11.0.0.1:5432)" "decided by default_action: action=pass log=failures" "match: no rule"

# decode: every form gives the same record.
"$CLI" decode 111 > "$T/d1"
for form in ECONNREFUSED 10061 0x274D WSAECONNREFUSED; do
	"$CLI" decode "$form" > "$T/d2"
	cmp -s "$T/d1" "$T/d2" || fail "decode $form differs from decode 111"
	ok "decode $form == decode 111"
done
expect_grep '^ECONNREFUSED 111 0x6f$' "$T/d1" "decode: name, number, hex"
expect_grep '^  winsock: +WSAECONNREFUSED 10061 0x274d$' "$T/d1" "decode: Winsock equivalent"
"$CLI" decode --json 10060 > "$T/j"
$PY -c 'import json,sys; d=json.load(open(sys.argv[1]))[0]; assert d["name"]=="ETIMEDOUT" and d["code"]==110 and d["wsa_code"]==10060, d' "$T/j" || fail "decode --json"
ok "decode --json"
"$CLI" decode EBOGUS 2>/dev/null
expect_eq "$?" 1 "decode of an unknown code exits 1"
"$CLI" --version | grep -q '^connrefuse [0-9]' || fail "--version"
ok "--version"
"$CLI" --help run | grep -q -- '--refuse' || fail "--help run"
ok "--help run"
