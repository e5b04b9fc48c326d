# Every bundled example config is valid, and the retry example does what it
# says: refused three times, then connected.
. "$(dirname "$0")/lib.sh"
EX=$(cd "$HERE/../../examples" && pwd)
n=0
for f in "$EX"/*.cfg; do
	"$CLI" check "$f" > "$T/out" 2>&1 || { cat "$T/out"; fail "$(basename "$f") does not validate"; }
	n=$((n + 1))
	ok "$(basename "$f") validates"
done
[ $n -ge 3 ] || fail "expected at least three example configs"
P=$(start_listener)
"$CLI" run -c "$EX/retry.cfg" -- $PY "$EX/retry-client.py" 127.0.0.1 "$P" > "$T/retry.out"
expect_eq "$?" 0 "the retry client gets through"
expect_eq "$(cut -d: -f2 "$T/retry.out" | tr -d ' ' | tr '\n' ' ')" "refused,retrying refused,retrying refused,retrying connected " "refused x3, then connected"
