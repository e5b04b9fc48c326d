#!/bin/sh
# run.sh BUILD [NAME...]: runs every tests/integration/t_*.sh (or the named
# ones) and prints one closing line, "N passed, N failed, N skipped". Exit 77
# from a test is a skip.
build=$(cd "$1" && pwd)
shift
here=$(cd "$(dirname "$0")" && pwd)
# The tests as names (the checkout's path may hold spaces).
names="$*"
[ -n "$names" ] || names=$(cd "$here" && ls t_*.sh | sed 's/\.sh$//')
logs=$build/tests/logs
mkdir -p "$logs"
export CR_BUILD="$build"
if [ -n "${CR_SANITIZE:-}" ]; then
	export CR_SANITIZE_LOGS="$build/tests/sanitizer-logs"
	rm -rf "$CR_SANITIZE_LOGS"
	mkdir -p "$CR_SANITIZE_LOGS"
fi
# The golden gate's log lines: on a whole plain run, each test leaves the
# shapes of the lines it made (lib.sh), compared with tests/golden/lines.
golden=""
if [ $# -eq 0 ] && [ -z "${CR_SANITIZE:-}" ]; then
	golden=$build/tests/golden-lines
	rm -rf "$golden"
	mkdir -p "$golden"
	export CR_GOLDEN_LINES="$golden"
fi
pass=0 failed=0 skip=0 failures=""
for name in $names; do
	t=$here/$name.sh
	start=$(date +%s)
	sh "$t" > "$logs/$name.log" 2>&1
	rc=$?
	secs=$(( $(date +%s) - start ))
	case $rc in
	0) pass=$((pass + 1)); echo "PASS $name (${secs}s, $(grep -c '^ok:' "$logs/$name.log") checks)" ;;
	77) skip=$((skip + 1)); echo "SKIP $name: $(tail -n 1 "$logs/$name.log")" ;;
	*) failed=$((failed + 1)); failures="$failures $name"
	   echo "FAIL $name (exit $rc, ${secs}s); re-run it alone: make check${CR_SANITIZE:+-$CR_SANITIZE} T=$name (its whole log: $logs/$name.log); it ends:"
	   tail -n 25 "$logs/$name.log" | sed 's/^/    /' ;;
	esac
done
if [ -n "$golden" ]; then
	if diff -ru "$here/../golden/lines" "$golden" > "$logs/golden-lines.diff"; then
		pass=$((pass + 1)); echo "PASS golden log lines ($(ls "$golden" | wc -l) tests, $(cat "$golden"/* | wc -l) line shapes)"
	else
		failed=$((failed + 1))
		echo "FAIL golden log lines: the lines the tests made differ from tests/golden/lines"
		echo "    (on purpose? make golden-update; the whole diff: $logs/golden-lines.diff)"
		head -n 40 "$logs/golden-lines.diff" | sed 's/^/    /'
	fi
fi
if [ -n "${CR_SANITIZE:-}" ] && [ -n "$(ls -A "$CR_SANITIZE_LOGS")" ]; then
	echo "sanitizer reports:"
	head -n 60 "$CR_SANITIZE_LOGS"/*
	failed=$((failed + 1))
fi
echo "integration: $pass passed, $failed failed, $skip skipped"
[ $failed -eq 0 ]
