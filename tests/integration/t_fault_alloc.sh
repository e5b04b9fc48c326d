# Out of memory during a load and a reload (the host program comes first):
# every allocation the project's own code makes there failed in turn, in a
# build with tests/fault/alloc_fail.h forced in. Afterwards the old or the
# new rules are in force, never a mix; a failed load is one config error;
# nothing crashes. (libconfig's own allocations are not failed: it does not
# survive them; README, Reliability.)
. "$(dirname "$0")/lib.sh"
"$HELPERS/fault_alloc" "$T" > "$T/out" 2> "$T/err"
rc=$?
cat "$T/out"
[ $rc -eq 0 ] || fail "fault_alloc exited $rc"
expect_grep '^load: [0-9]+ allocations failed in turn' "$T/out" "every allocation of a load failed in turn"
expect_grep '^reload: [0-9]+ allocations failed in turn: old rules kept [1-9]' "$T/out" "every allocation of a reload failed in turn"
expect_grep '^breaches 0, crashes 0$' "$T/out" "no mix of rules, no crash"
expect_grep 'config error: .*out of memory; the rules loaded before stay in force' "$T/err" "a reload out of memory is one config error"
