# The interposed functions are listed once, in src/preload/hooks.def: the
# real-function table, the fallbacks, the resolution and the version script
# are made from it. A hook outside the list (the version script would hide
# it: it would never run), or an entry no hook defines, fails the check,
# shown here on copies broken on purpose.
GOLDEN_SKIP=1 # it copies the sources, which hold the messages' formats
. "$(dirname "$0")/lib.sh"
top=$HERE/../..
check() { python3 "$top/tests/tools/check-hooks.py" "$@"; }
check "$top/src" "$CR_BUILD" > "$T/out" 2>&1 || { cat "$T/out"; fail "the list of hooks and the hooks disagree"; }
ok "$(tail -n 1 "$T/out")"
n=$(grep -c '^CR_HOOK(' "$top/src/preload/hooks.def")
[ "$(grep -c '^[a-z_0-9]*;$' "$CR_BUILD/libconnrefuse.map")" -eq "$n" ] ||
	fail "the version script does not name the $n functions of hooks.def: $(cat "$CR_BUILD/libconnrefuse.map")"
ok "the version script names the $n listed functions"

# A stray hook: exported in the source, not listed (a function of the C
# library that is not, or not yet, interposed).
for stray in shutdown bind getpeername; do
	grep -q "^CR_HOOK([^,]*, $stray," "$top/src/preload/hooks.def" || break
done
cp -r "$top/src" "$T/src" && mkdir -p "$T/include" && cp "$top/include/connrefuse.h" "$T/include/"
printf '\nCR_EXPORT int %s(int fd, int x)\n{\n\treturn fd + x;\n}\n' "$stray" >> "$T/src/preload/hook_socket.c"
check "$T/src" > "$T/bad" 2>&1 && fail "a stray CR_EXPORT $stray() passed the check"
expect_grep "hook_socket.c:[0-9]*: $stray is marked CR_EXPORT but is not in .*hooks.def" "$T/bad" \
	"the check fails on a hook outside the list"

# An entry no hook defines.
cp -r "$top/src" "$T/src2"
sed -i "s/^#undef CR_HOOK$/CR_HOOK(int, $stray, (int, int), NULL)\\n&/" "$T/src2/preload/hooks.def"
check "$T/src2" > "$T/bad2" 2>&1 && fail "an entry without a hook passed the check"
expect_grep "hooks.def:[0-9]*: $stray is listed, but no hook in .* defines it" "$T/bad2" \
	"the check fails on an entry no hook defines"

# What was built: a library exporting a function outside the list, and an
# object defining one without CR_EXPORT.
mkdir -p "$T/b/obj/preload"
printf 'int %s(int fd, int x) { return fd + x; }\n' "$stray" > "$T/stray.c"
cc -fPIC -fvisibility=hidden -c "$T/stray.c" -o "$T/b/obj/preload/stray.o" &&
	cc -shared -fPIC "$T/stray.c" -o "$T/b/libconnrefuse.so" || fail "cannot build the stray objects"
check "$top/src" "$T/b" > "$T/bad3" 2>&1 && fail "a library exporting a stray $stray() passed the check"
expect_grep "libconnrefuse.so exports $stray, which is neither in .*hooks.def nor the public API" "$T/bad3" \
	"the check fails on a library exporting a function outside the list"
expect_grep "libconnrefuse.so does not export connect " "$T/bad3" "the check fails on a library missing a listed hook"
expect_grep "stray.o defines $stray, a global function neither in" "$T/bad3" \
	"the check fails on an object defining a hook without CR_EXPORT"
