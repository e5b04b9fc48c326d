# The golden gate for what the command prints: check on every example and
# every bad config of the tests, match, decode, help and usage errors, each
# with its exit status, diffed against tests/golden/cli.expected. A change
# there is made on purpose (make golden-update) and shows in the diff.
. "$(dirname "$0")/lib.sh"
sh "$HERE/../golden/cli.sh" "$CR_BUILD" > "$T/cli.out" 2>&1
if diff -u "$HERE/../golden/cli.expected" "$T/cli.out" > "$T/cli.diff"; then
	ok "the command's output equals tests/golden/cli.expected ($(grep -c '^\$ ' "$T/cli.out") commands)"
else
	head -n 60 "$T/cli.diff"
	fail "the command's output differs from tests/golden/cli.expected (on purpose? make golden-update)"
fi
