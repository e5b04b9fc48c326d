# The layers (src/README.md): the engine includes nothing of the front ends,
# preload and seccomp include only the engine, cli the engine and seccomp;
# no include cycle. The check is then shown to fail on a forbidden include.
GOLDEN_SKIP=1 # it copies the sources, which hold the messages' formats
. "$(dirname "$0")/lib.sh"
top=$HERE/../..
python3 "$top/tests/tools/check-layers.py" "$top/src" > "$T/out" 2>&1 || { cat "$T/out"; fail "the layering check found breaches"; }
ok "$(tail -n 1 "$T/out")"
# Break it on purpose: an engine file that includes a preload header.
cp -r "$top/src" "$T/src" && mkdir -p "$T/include" && cp "$top/include/connrefuse.h" "$T/include/"
sed -i '1i #include "preload/fdtable.h"' "$T/src/engine/decide.c"
if python3 "$top/tests/tools/check-layers.py" "$T/src" > "$T/bad" 2>&1; then
	fail "an engine file including preload/fdtable.h passed the check"
fi
expect_grep 'engine/decide.c:1: #include "preload/fdtable.h": engine may not include preload' "$T/bad" \
	"the check fails on an engine file that includes a preload header"
# And on a cycle.
cp -r "$top/src" "$T/src2" && sed -i '1i #include "decide.h"' "$T/src2/engine/rules.h"
python3 "$top/tests/tools/check-layers.py" "$T/src2" > "$T/cyc" 2>&1 && fail "an include cycle passed the check"
expect_grep '^include cycle: ' "$T/cyc" "the check fails on an include cycle"
