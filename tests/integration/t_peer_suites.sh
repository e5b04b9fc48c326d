# A peer's own test suite gives the same results bare and under
# `run --seccomp` with the audit on: Twisted's unix-socket and TCP tests
# (Debian's python3-twisted), test by test. Its unix tests connect by
# relative paths from temporary folders, check peer credentials and
# addresses: every way the supervisor could act in its own context instead
# of the program's. They run in a network namespace of their own, with
# loopback alone (some of the TCP tests connect to every address of the
# machine they find).
if [ "${CR_IN_NETNS:-}" != 1 ]; then
	[ "$(id -u)" = 0 ] || { echo "needs root for a network namespace"; exit 77; }
	for c in ip unshare; do command -v $c > /dev/null || { echo "$c is not installed"; exit 77; }; done
	CR_IN_NETNS=1 exec unshare -n sh "$0"
fi
. "$(dirname "$0")/lib.sh"
GOLDEN_SKIP=1 # the lines are the peer's suite's, not ours
ip link set lo up
if ! out=$("$CLI" run --seccomp -- true 2>&1); then
	echo "seccomp user notification unavailable here: $out"
	exit 77
fi
$PY -c 'import twisted' 2> /dev/null || { echo "python3-twisted not installed"; exit 77; }
SUITES="twisted.internet.test.test_unix twisted.internet.test.test_tcp twisted.test.test_unix"
cfg=$(config audit.cfg "version = 1;
log: { syslog = false; file = \"$T/audit.log\"; rate = 0; };")
# outcomes NAME COMMAND...: the suites run from a folder of their own; one
# line a test, "name ... [OUTCOME]", sorted. They take seconds; a test that
# hangs waits for trial's own 120-second timeout, and a run that still has
# not ended after 15 minutes is stopped (a hang, not a slow machine).
outcomes() {
	name=$1
	shift
	mkdir -p "$T/$name"
	(cd "$T/$name" && timeout -k 10 900 "$@" $PY -m twisted.trial --reporter=bwverbose $SUITES > "$T/$name.out" 2>&1)
	grep -E ' \.\.\. \[[A-Z]+\]$' "$T/$name.out" | sort > "$T/$name.tests"
	tail -n 1 "$T/$name.out"
}
echo "bare: $(outcomes bare)"
echo "--seccomp: $(outcomes seccomp "$CLI" run --seccomp -c "$cfg" --)"
n=$(wc -l < "$T/bare.tests")
[ "$n" -gt 1000 ] || { cat "$T/bare.out"; fail "the suites ran $n tests bare"; }
if ! diff "$T/bare.tests" "$T/seccomp.tests" > "$T/diff"; then
	cat "$T/diff"
	fail "$(grep -c '^>' "$T/diff") of $n tests end otherwise under run --seccomp"
fi
ok "Twisted's unix and TCP suites: each of $n tests ends as bare under run --seccomp ($(grep -c '\[OK\]' "$T/bare.tests") OK)"
