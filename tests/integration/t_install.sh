# make install with DESTDIR and PREFIX: the staged command runs the staged
# library; pkg-config finds the staged .pc; the man pages render without
# warnings; make uninstall removes what install put there.
. "$(dirname "$0")/lib.sh"
SRC=$(cd "$HERE/../.." && pwd)
stage=$T/stage
make -s -C "$SRC" BUILD="$CR_BUILD" install DESTDIR="$stage" PREFIX=/usr > "$T/make.out" 2>&1 || { cat "$T/make.out"; fail "make install"; }
ok "make install DESTDIR=... PREFIX=/usr"
for f in bin/connrefuse lib/connrefuse/libconnrefuse.so include/connrefuse.h lib/pkgconfig/connrefuse.pc \
	 share/man/man1/connrefuse.1 share/man/man5/connrefuse.cfg.5 share/bash-completion/completions/connrefuse share/connrefuse/pytest/connrefuse_pytest.py \
	 share/connrefuse/go/connrefuse/go.mod share/connrefuse/go/connrefuse/connrefuse.go share/connrefuse/go/connrefuse/rules.go; do
	[ -f "$stage/usr/$f" ] || fail "missing $f"
done
ok "every file staged"
if command -v go > /dev/null; then
	(cd "$stage/usr/share/connrefuse/go/connrefuse" && GOTOOLCHAIN=local GOPROXY=off GOFLAGS=-mod=mod CGO_ENABLED=0 \
		GOPATH=$T/gopath GOCACHE=${GOCACHE:-/tmp/connrefuse-gocache} go vet . && [ ! -e go.sum ]) || fail "the staged Go module"
	ok "the staged Go module builds and vets, with the standard library alone"
fi
P=$(start_listener)
"$stage/usr/bin/connrefuse" run --refuse "127.0.0.1:$P" -- nc -z 127.0.0.1 "$P"
expect_eq "$?" 1 "the staged connrefuse run refuses with the staged library"
# (An LD_PRELOAD already set, the sanitizer runtime under check-asan, stays
# after it.)
out=$("$stage/usr/bin/connrefuse" run -- sh -c 'echo "$LD_PRELOAD"')
expect_eq "${out%%:*}" "$stage/usr/lib/connrefuse/libconnrefuse.so" "the staged command preloads the staged library"
out=$(PKG_CONFIG_PATH=$stage/usr/lib/pkgconfig pkg-config --modversion connrefuse)
expect_eq "$out" "$("$CLI" --version | cut -d' ' -f2)" "pkg-config finds the staged connrefuse.pc"
for m in "$SRC/doc/connrefuse.1" "$SRC/doc/connrefuse.cfg.5"; do
	env -u LD_PRELOAD LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -l "$m" > "$T/man.out" 2> "$T/man.err" || fail "man -l $m"
	[ ! -s "$T/man.err" ] || { cat "$T/man.err"; fail "man -l $(basename "$m") warns"; }
	[ -s "$T/man.out" ] || fail "man -l $(basename "$m") rendered nothing"
	ok "man -l $(basename "$m") renders without warnings"
done
make -s -C "$SRC" BUILD="$CR_BUILD" uninstall DESTDIR="$stage" PREFIX=/usr > /dev/null 2>&1
left=$(find "$stage" -type f | wc -l)
expect_eq "$left" 0 "make uninstall removes every file"

# Bash completion, as installed: the commands, run's options, decode's codes.
comp() { # comp WORD...: what completing the last word offers
	bash -c '. "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); _connrefuse; echo "${COMPREPLY[*]}"' \
		comp "$SRC/doc/connrefuse.bash-completion" "$@"
}
expect_eq "$(comp connrefuse r)" "run report relay" "completion: connrefuse r -> run report relay"
expect_eq "$(comp connrefuse run --fail-d)" "--fail-dns" "completion: run --fail-d -> --fail-dns"
expect_eq "$(comp connrefuse run --fail-dns EAI_N)" "EAI_NONAME= EAI_NODATA=" "completion: --fail-dns EAI_N"
expect_eq "$(comp connrefuse match f --res)" "--resolve" "completion: match --res -> --resolve"
expect_eq "$(comp connrefuse report --p)" "--prometheus" "completion: report --p -> --prometheus"
# A plain make installs nothing (packagers build in a chroot); the README's
# two commands and the test targets do.
make -n -C "$SRC" BUILD="$CR_BUILD" all 2> /dev/null | grep -q 'ensure-packages --check' || fail "make all would install packages"
make -n -C "$SRC" BUILD="$CR_BUILD" check 2> /dev/null | grep 'ensure-packages' | grep -qv -- '--check' || fail "make check would not install packages"
ok "make (all, install) only checks for packages; make demo and make check install them"
