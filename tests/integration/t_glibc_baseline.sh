# The library loads into glibc 2.17 and later (SPEC.md's bundle), whatever
# glibc it is built on: no symbol it needs, nor one its bundled libconfig
# needs, may be of a newer GLIBC_ version. A newer one stops every program
# of an older userland from starting. (Loading it for real into Debian 11's
# glibc 2.31 is in make check-containers.)
. "$(dirname "$0")/lib.sh"
skip_under_sanitizers "the sanitizers' runtimes are not part of what ships"
command -v objdump > /dev/null || { echo "objdump (binutils) not installed"; exit 77; }
BASELINE=2.17
# newer LIB: each symbol of LIB bound to a GLIBC_ version newer than the
# baseline, as "symbol@GLIBC_x.y".
newer() {
	objdump -T "$1" | sed -n 's/.*(GLIBC_\([0-9.]*\)) *\([^ ]*\)$/\1 \2/p' | while read -r v sym; do
		[ "$(printf '%s\n%s\n' "$v" "$BASELINE" | sort -V | tail -n 1)" = "$BASELINE" ] || echo "$sym@GLIBC_$v"
	done | sort -u
}
ARCH=$(uname -m)
for lib in "$LIB" "$CR_BUILD/bundle/$ARCH/libconnrefuse.so" "$CR_BUILD/bundle/$ARCH"/libconfig.so*; do
	[ -f "$lib" ] || fail "$lib was not built"
	n=$(objdump -T "$lib" | grep -c 'GLIBC_')
	[ "$n" -gt 0 ] || fail "$lib: objdump shows no GLIBC_ symbol at all"
	bad=$(newer "$lib" | tr '\n' ' ')
	[ -z "$bad" ] || fail "$(basename "$lib") needs symbols newer than GLIBC_$BASELINE: $bad(bind them to an older version, src/preload/glibc_baseline.h, or make the system call, src/engine/sys.h)"
	ok "$(basename "$lib"): its $n GLIBC_ symbols are of $BASELINE or older (newest: $(objdump -T "$lib" | grep -o 'GLIBC_[0-9.]*' | sort -uV | tail -n 1))"
done
