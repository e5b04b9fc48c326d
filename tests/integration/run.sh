#!/bin/sh
# run.sh BUILD [NAME...]: runs every tests/integration/t_*.sh (or the named
# ones) and prints one closing line, "N passed, N failed, N skipped". Exit 77
# from a test is a skip.
build=$(cd "$1" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
tests=""
for name in "$@"; do tests="$tests $here/$name.sh"; done
[ -n "$tests" ] || tests=$(ls "$here"/t_*.sh)
logs=$build/tests/logs
mkdir -p "$logs"
export CR_BUILD="$build"
if [ -n "${CR_SANITIZE:-}" ]; then
	export CR_SANITIZE_LOGS="$build/tests/sanitizer-logs"
	rm -rf "$CR_SANITIZE_LOGS"
	mkdir -p "$CR_SANITIZE_LOGS"
fi
pass=0 failed=0 skip=0 failures=""
for t in $tests; do
	name=$(basename "$t" .sh)
	start=$(date +%s)
	sh "$t" > "$logs/$name.log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $name (${secs}s, $(grep -c '^ok:' "$logs/$name.log") checks)" ;;
	77) skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$logs/$name.log")" ;;
	*) failed=$((failed + 1)); failures="$failures $name"
	   echo "FAIL $name (exit $rc, ${secs}s); its log ends:"; tail -n 25 "$logs/$name.log" | sed 's/^/    /' ;;
	esac
done
if [ -n "${CR_SANITIZE:-}" ] && [ -n "$(ls -A "$CR_SANITIZE_LOGS")" ]; then
	echo "sanitizer reports:"
	head -n 60 "$CR_SANITIZE_LOGS"/*
	failed=$((failed + 1))
fi
echo "integration: $pass passed, $failed failed, $skip skipped"
[ $failed -eq 0 ]
