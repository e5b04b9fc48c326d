# Every bundled example config is valid, and the retry example does what it
# says: refused three times, then connected.
. "$(dirname "$0")/lib.sh"
EX=$(cd "$HERE/../../examples" && pwd)
n=0
for f in "$EX"/*.cfg "$EX"/fleet/*.cfg "$EX"/fleet/host-wide/rules; do
	"$CLI" check "$f" > "$T/out" 2>&1 || { cat "$T/out"; fail "$(basename "$f") does not validate"; }
	n=$((n + 1))
	ok "$(basename "$f") validates"
done
[ $n -ge 3 ] || fail "expected at least three example configs"
P=$(start_listener)
"$CLI" run -c "$EX/retry.cfg" -- $PY "$EX/retry-client.py" 127.0.0.1 "$P" > "$T/retry.out"
expect_eq "$?" 0 "the retry client gets through"
expect_eq "$(cut -d: -f2 "$T/retry.out" | tr -d ' ' | tr '\n' ' ')" "refused,retrying refused,retrying refused,retrying connected " "refused x3, then connected"

# The DNS outage example: the database's name is gone (no DNS is asked: the
# rule fails the look-up before the resolver runs).
out=$("$CLI" run -c "$EX/dns-outage.cfg" -- $PY -c "
import socket
try: socket.getaddrinfo('db.internal', 5432)
except socket.gaierror as e: print(e.errno, e)" 2> "$T/dns.err")
expect_eq "$out" "-2 [Errno -2] Name or service not known" "dns-outage.cfg: db.internal does not exist"
expect_grep '^connrefuse: result=failed simulated=yes rule=db-gone action=fail .* host=db\.internal proto=dns errno=EAI_NONAME code=-2 ' \
	"$T/dns.err" "dns-outage.cfg: the look-up's line"

# The rules embedded in the Kubernetes ConfigMap validate, and are the fleet rules.
sed -n '/# BEGIN rules.cfg/,/# END rules.cfg/p' "$EX/fleet/kubernetes.yaml" | sed 's/^    //' > "$T/k8s.cfg"
"$CLI" check "$T/k8s.cfg" > "$T/k8s.out" 2>&1 || { cat "$T/k8s.out"; fail "the ConfigMap's rules do not validate"; }
"$CLI" check "$EX/fleet/rules.cfg" | tail -n +2 > "$T/a"
tail -n +2 "$T/k8s.out" > "$T/b"
diff "$T/a" "$T/b" || fail "the ConfigMap's rules differ from fleet/rules.cfg"
ok "the Kubernetes ConfigMap's rules validate and equal fleet/rules.cfg"
# The fleet recipes point at the paths an install creates.
grep -q '/usr/lib/connrefuse/libconnrefuse.so' "$EX/fleet/systemd-connrefuse.conf" || fail "systemd drop-in path"
ok "the systemd drop-in preloads the installed library path"
