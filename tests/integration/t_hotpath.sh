# The hot path: a connect() that matches none of 1,000 rules makes no system
# call besides the real connect() (counted with strace: the same calls per
# iteration as the bare program) and no allocation (counted by the program's
# own malloc, which the preloaded library's calls reach too).
. "$(dirname "$0")/lib.sh"
command -v strace >/dev/null || { echo "strace not installed"; exit 77; }
skip_under_sanitizers "counts system calls and allocations, which the sanitizers add"
P=$(start_listener)
$PY -c "
rules = ',\n'.join('{ name = \"r%d\"; dst = \"10.%d.%d.%d\"; port = 5432; action = \"refuse\"; }' % (i, i >> 16, (i >> 8) & 255, i & 255) for i in range(1000))
print('version = 1;\nrules = (\n' + rules + '\n);')" > "$T/rules.cfg"
# Syscalls per iteration: the difference between 300 and 100 iterations, / 200,
# rounded (a connect that fails now and then skips the program's setsockopt;
# one call of our own a connect would add 200 lines).
per_iter() { # ENV...
	for n in 100 300; do
		env "$@" strace -f -qq -o "$T/st.$n" $HELPERS/hotpath "$P" $n > /dev/null
		wc -l < "$T/st.$n"
	done | { read a; read b; echo $(( (b - a + 100) / 200 )); }
}
bare=$(per_iter X=1)
pre=$(per_iter LD_PRELOAD=$PRELOAD CONNREFUSE_CONFIG=$T/rules.cfg)
echo "syscalls per iteration: bare $bare, preloaded $pre"
env LD_PRELOAD=$PRELOAD CONNREFUSE_CONFIG=$T/rules.cfg strace -f -qq -o "$T/st.one" $HELPERS/hotpath "$P" 1 > /dev/null
tail -n 8 "$T/st.one"
[ "$bare" -gt 0 ] || fail "strace counted nothing"
expect_eq "$pre" "$bare" "no system call of our own on the hot path (socket, connect, setsockopt, close)"
out=$(LD_PRELOAD=$PRELOAD CONNREFUSE_CONFIG=$T/rules.cfg $HELPERS/hotpath "$P" 2000)
expect_eq "$out" "allocations=0" "no allocation in 2,000 connects through the hook"
# Logging is not the hot path, but it allocates nothing either: every connect
# logged to a file at level all.
printf 'version = 1;\nlog: { syslog = false; file = "%s/all.log"; level = "all"; rate = 0; };\n' "$T" > "$T/all.cfg"
out=$(LD_PRELOAD=$PRELOAD CONNREFUSE_CONFIG=$T/all.cfg $HELPERS/hotpath "$P" 200)
expect_eq "$out" "allocations=0" "logging each connect allocates nothing either"
[ "$(grep -c '^'"$STAMP"'result=connected' "$T/all.log")" -ge 200 ] || fail "the logging run did not log"
ok "the logging run logged every connect"
