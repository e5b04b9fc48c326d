# The layers (src/README.md): the engine includes nothing of the front ends,
# preload and seccomp include only the engine, cli the engine and seccomp;
# no include cycle. The same of the calls, read from the built objects: no
# call back up, no circle of files, no engine call that lands in a hook.
# Each check is then shown to fail.
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
# And on a front end that includes the inside of the engine.
sed -i '1i #include "engine/rules_impl.h"' "$T/src/cli/match.c"
python3 "$top/tests/tools/check-layers.py" "$T/src" > "$T/bad" 2>&1
expect_grep 'cli/match.c:1: #include "engine/rules_impl.h": the inside of engine, for its own files only' "$T/bad" \
	"the check fails on a front end that includes engine/rules_impl.h"
# And on a cycle.
cp -r "$top/src" "$T/src2" && sed -i '1i #include "decide.h"' "$T/src2/engine/rules.h"
python3 "$top/tests/tools/check-layers.py" "$T/src2" > "$T/cyc" 2>&1 && fail "an include cycle passed the check"
expect_grep '^include cycle: ' "$T/cyc" "the check fails on an include cycle"
# The calls between files, as the linker sees them.
python3 "$top/tests/tools/check-calls.py" "$CR_BUILD" "$top/src" > "$T/calls" 2>&1 || { cat "$T/calls"; fail "the call check found breaches"; }
ok "$(tail -n 1 "$T/calls")"
# Break it on purpose: two engine files that call each other, one of them
# calling the command's usage (back up) and close() (the hook's, inside the
# library).
mkdir -p "$T/build/obj" && cp -r "$CR_BUILD/obj/." "$T/build/obj/" && cp "$CR_BUILD/libconnrefuse.so" "$T/build/"
cp -r "$top/src" "$T/src3"
cat > "$T/src3/engine/zz_a.c" <<'EOF2'
#include <unistd.h>
int cr_usage_error(const char *cmd, const char *fmt, const char *arg);
int cr_zz_b(void);
int cr_zz_a(void) { return close(0) + cr_zz_b() + cr_usage_error(0, "", ""); }
EOF2
cat > "$T/src3/engine/zz_b.c" <<'EOF2'
int cr_zz_a(void);
int cr_zz_b(void) { return cr_zz_a(); }
EOF2
for f in zz_a zz_b; do cc -c -o "$T/build/obj/engine/$f.o" "$T/src3/engine/$f.c" || fail "cannot compile $f.c"; done
python3 "$top/tests/tools/check-calls.py" "$T/build" "$T/src3" > "$T/bad-calls" 2>&1 && fail "a call back up, a circle and a call into a hook passed the call check"
expect_grep '^call back up: engine/zz_a.c -> cli/usage.c: cr_usage_error$' "$T/bad-calls" "the call check fails on an engine call into the command"
expect_grep '^circle: engine/zz_a.c engine/zz_b.c$' "$T/bad-calls" "the call check fails on two files that call each other"
expect_grep '^engine call into a hook: engine/zz_a.c -> preload: close ' "$T/bad-calls" "the call check fails on an engine call of close()"
expect_grep '1 calls back up, 1 circles .*1 engine calls into hooks' "$T/bad-calls" "the call check counts them"
# src/README.md names every source file (its "Every file" table).
missing=
for f in "$top"/src/*/*.c "$top"/src/*/*.def; do
	stem=$(basename "$f"); stem=${stem%.c}
	grep -q "\`$stem\`" "$top/src/README.md" || missing="$missing ${f#"$top"/}"
done
[ -z "$missing" ] || fail "src/README.md does not name:$missing"
ok "src/README.md names every source file"
