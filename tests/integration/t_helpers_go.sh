# The Go helper (helpers/go/connrefuse) with the real go test: examples/go,
# a small retrying client against a real local server, and two worker
# packages with opposite rules. connrefuse.Main re-executes each test
# binary under connrefuse run --seccomp; run explicitly under it, tests of
# one rules file take turns (the helper's flock on FILE.lock).
. "$(dirname "$0")/lib.sh"
GOLDEN_SKIP=1 # the example suite's rules log nothing; this test counts go test's outcomes
command -v go > /dev/null || { echo "SKIP: no Go toolchain (Debian's golang-go)"; exit 77; }
skip_under_sanitizers "SKIP: Go test binaries are not built with the sanitizers' runtimes"
SRC=$(cd "$HERE/../.." && pwd)
mkdir -p "$T/src/examples" "$T/src/helpers"
cp -r "$SRC/examples/go" "$T/src/examples/go"
cp -r "$SRC/helpers/go" "$T/src/helpers/go"
# Nothing downloaded: the standard library and the helper beside it only.
export GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod CGO_ENABLED=0 GOPATH=$T/gopath \
	GOCACHE=${GOCACHE:-/tmp/connrefuse-gocache} CONNREFUSE=$CLI
gt() { (cd "$T/src/examples/go" && go test -count=1 -v "$@"); }
# gone OUT: the outcome of each Go test, and why one failed.
gone() { grep -E -- '^(--- |    [a-z_]+\.go:)' "$1"; }
(cd "$T/src/examples/go" && go test -c -o "$T/client.test" ./client && go test -c -o "$T/a.test" ./workers/a &&
	go test -c -o "$T/b.test" ./workers/b) > "$T/build.out" 2>&1 || { cat "$T/build.out"; fail "go test -c"; }

# The rule text the helper writes: as meant, and taken by connrefuse check.
(cd "$T/src/helpers/go/connrefuse" && go test -count=1 -v .) > "$T/out" 2>&1 || { cat "$T/out"; fail "the helper's own tests"; }
expect_eq "$(grep -c -- '^--- PASS' "$T/out")" 2 "the helper's rule text is as meant, and connrefuse check takes it"
tmps=$(ls -d /tmp/connrefuse-go-* 2> /dev/null)
# go test alone: connrefuse.Main runs each test binary under connrefuse run --seccomp.
gt ./client > "$T/out" 2>&1
rc=$?
gone "$T/out"
(exit $rc)
expect_eq "$?" 1 "go test ./client: one test fails on purpose"
expect_eq "$(grep -c -- '^--- FAIL' "$T/out")" 1 "exactly one FAIL"
expect_grep '^--- FAIL: TestFailsOnPurpose' "$T/out" "the one meant to fail"
expect_eq "$(grep -c -- '^--- PASS' "$T/out")" 4 "the four others pass (refused twice then served; a with block; a timeout; rules restored after a failing test)"
for t in TestRefusedTwiceThenServed TestWithBlock TestTimeoutNotRetried TestRulesRestoredAfterAFailure; do
	gt ./client -run "^$t\$" > "$T/one" 2>&1 || { cat "$T/one"; fail "$t"; }
	ok "$t passes alone"
done
expect_eq "$(ls -d /tmp/connrefuse-go-* 2> /dev/null)" "$tmps" "Main removes its temporary rules folder"
expect_eq "$(ls "$XDG_RUNTIME_DIR")" "" "and the shared schedule state of its rules file"

# Under an explicit run --seccomp with a rules file of the user's: the file
# is byte-identical afterwards, the failing test included.
P=$(start_listener)
# (Its log level audits, as the default does: that installs the SO_ERROR
# trap, without which a later fail rule's ETIMEDOUT reads as a refusal on
# Go's non-blocking sockets; doc/seccomp.md.)
base=$(config base.cfg "# the rules between tests
version = 1;
log: { syslog = false; level = \"failures\"; };
rules = ( { name = \"other\"; dst = \"127.0.0.1\"; port = $P; action = \"refuse\"; } );")
cp "$base" "$T/base.copy"
"$CLI" run --seccomp -c "$base" -- "$T/client.test" -test.v > "$T/out" 2>&1
rc=$?
gone "$T/out"
(exit $rc)
expect_eq "$?" 1 "under run --seccomp -c FILE: one test fails on purpose"
expect_eq "$(grep -c -- '^--- FAIL' "$T/out"):$(grep -c -- '^--- PASS' "$T/out")" "1:4" "one FAIL, four PASS"
cmp "$base" "$T/base.copy" || fail "the rules file changed"
ok "the rules file is byte-identical afterwards"
expect_eq "$(ls "$T" | grep -c 'base\.cfg\.tmp')" 0 "no temporary file left beside it"

# The same as the docs write it, go itself under the supervisor (Main
# re-executes nothing there).
"$CLI" run --seccomp -c "$base" -- sh -c 'cd "$1" && go test -count=1 -v ./client' sh "$T/src/examples/go" > "$T/out" 2>&1
rc=$?
gone "$T/out"
expect_eq "$rc:$(grep -c -- '^--- FAIL' "$T/out"):$(grep -c -- '^--- PASS' "$T/out")" "1:1:4" \
	"connrefuse run --seccomp -c FILE -- go test: one FAIL, four PASS"
cmp "$base" "$T/base.copy" || fail "the rules file changed"
ok "the rules file is byte-identical afterwards"

# Where the helper cannot work, the test fails and says how to run it.
"$CLI" run -c "$base" -- "$T/client.test" -test.run TestRefusedTwice > "$T/out" 2>&1
expect_eq "$?" 1 "under run without --seccomp: the test fails"
expect_grep 'under connrefuse run without --seccomp, and Go makes raw system calls .*connrefuse run --seccomp -- go test' "$T/out" \
	"it says to use run --seccomp"
cmp "$base" "$T/base.copy" || fail "the rules file changed after the probe"
ok "the probe put the rules file back"
CONNREFUSE=$T/no-such-connrefuse "$T/client.test" -test.run TestRefusedTwice > "$T/out" 2>&1
expect_eq "$?" 1 "not under connrefuse run (Main cannot re-execute): the test fails"
expect_grep 'not under connrefuse run .*the connrefuse command is not on PATH' "$T/out" "it says why, and what to set"

# Two packages at the same time with opposite rules: each test binary its
# own rules file (Main), both inside their rules at once.
A=$(start_listener) B=$(start_listener)
mkdir "$T/sync"
CR_EXAMPLE_SYNC=$T/sync CR_PORT_A=$A CR_PORT_B=$B gt -p 2 ./workers/... > "$T/out" 2>&1 || { gone "$T/out"; fail "two packages with opposite rules"; }
expect_eq "$(grep -c -- '^--- PASS: TestRefuses[AB]' "$T/out")" 2 "two packages with opposite rules pass together (each saw the other inside its rules)"

# The same two under one run --seccomp -c FILE: one file, so they take turns.
mkdir "$T/sync2"
empty=$(config shared.cfg 'version = 1; rules = ( );')
CR_EXAMPLE_SYNC=$T/sync2 CR_EXAMPLE_SHARED=1 CR_PORT_A=$A CR_PORT_B=$B "$CLI" run --seccomp -c "$empty" -- \
	sh -c '"$1" -test.v > "$3/a.out" 2>&1 & "$2" -test.v > "$3/b.out" 2>&1; b=$?; wait $!; a=$?; exit $((a | b))' \
	sh "$T/a.test" "$T/b.test" "$T" || { gone "$T/a.out"; gone "$T/b.out"; fail "two processes on one rules file"; }
ok "two processes on one rules file with opposite rules take turns (each found the other waiting for the lock, or done)"
