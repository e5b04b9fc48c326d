# The pytest helper (helpers/pytest/connrefuse_pytest.py) with the real
# pytest and pytest-xdist: examples/pytest, a small retrying client against
# a real local server; the plugin re-executes pytest under connrefuse run
# (the fixture fails a test that is not under it).
. "$(dirname "$0")/lib.sh"
GOLDEN_SKIP=1 # the example suite's rules log nothing; this test counts pytest's outcomes
$PY -c 'import pytest, xdist' 2> /dev/null || { echo "SKIP: python3-pytest, python3-pytest-xdist missing"; exit 77; }
SRC=$(cd "$HERE/../.." && pwd)
cp -r "$SRC/examples/pytest" "$T/suite"
export CONNREFUSE=$CLI PYTHONPATH=$SRC/helpers/pytest PYTHONDONTWRITEBYTECODE=1
pt() { (cd "$T/suite" && $PY -m pytest -p connrefuse_pytest -p no:cacheprovider -q "$@"); }

pt test_client.py > "$T/out" 2>&1
expect_eq "$?" 1 "the example suite: one test fails on purpose"
expect_grep '^1 failed, 3 passed' "$T/out" "one failed, three passed"
expect_grep '^FAILED test_client.py::test_fails_on_purpose' "$T/out" "the one meant to fail"
for t in test_refused_twice_then_served test_with_block test_rules_restored_after_a_failure; do
	pt "test_client.py::$t" > "$T/one" 2>&1 || { cat "$T/one"; fail "$t"; }
	ok "$t passes (refused twice then served; a with block; rules restored after a failing test)"
done

# Two xdist workers, opposite rules, at the same time.
mkdir "$T/sync"
A=$(start_listener) B=$(start_listener)
CR_EXAMPLE_SYNC=$T/sync CR_PORT_A=$A CR_PORT_B=$B pt -n 2 test_workers.py > "$T/out" 2>&1 || { cat "$T/out"; fail "two xdist workers with opposite rules"; }
ok "two xdist workers with opposite rules pass together"
expect_eq "$(cat "$T"/sync/worker.* | sort -u | wc -l)" 2 "the two tests ran in two workers"

