# connrefuse check --image ROOT: which library of the bundle fits a root
# file system (a folder or a tar archive of one), or none and why; exit 0 or
# 1. Roots made here from this
# machine's own files: glibc 2.36 x86-64 (this root), glibc on arm64 (the
# cross toolchain's libc, if installed), musl (its loader), a glibc older
# than the baseline (this libc with its banner rewritten to 2.12), a root
# with no C library (scratch, distroless static). The Debian 11 root
# (glibc 2.31) is in make check-containers.
. "$(dirname "$0")/lib.sh"
# root NAME FILE IN-ROOT...: a root holding FILE at the paths given.
root() {
	r=$T/$1 f=$2
	shift 2
	mkdir -p "$r"
	for p in "$@"; do mkdir -p "$r/$(dirname "$p")" && cp -L "$f" "$r/$p"; done
	echo "$r"
}
# fits ROOT EXIT WHAT: check --image's exit status and the line that counts;
# the same for ROOT as a tar archive (podman export writes one), whose
# every line but the first (the name) must equal the folder's.
fits() {
	out=$("$CLI" check --image "$1")
	rc=$?
	echo "$out"
	expect_eq "$rc" "$2" "check --image $(basename "$1"): exit $2"
	case $out in *"$3"*) ok "check --image $(basename "$1"): $3" ;; *) fail "check --image $1: no '$3' in: $out" ;; esac
	[ "$1" = / ] && return
	tar -C "$1" -cf "$1.tar" .
	tout=$("$CLI" check --image "$1.tar")
	expect_eq "$?:$(echo "$tout" | sed 1s/^[^:]*://)" "$rc:$(echo "$out" | sed 1s/^[^:]*://)" \
		"check --image $(basename "$1").tar (an archive): the same answer"
}
fits / 0 "fits: $(uname -m)/libconnrefuse.so"
expect_eq "$(echo "$out" | tail -n 1)" "LD_PRELOAD='/opt/connrefuse/\$PLATFORM/libconnrefuse.so'" "the one LD_PRELOAD line of every glibc image"
libc=$(ldd /bin/true | awk '/libc\.so\.6/ { print $3 }')
fits "$(root glibc236 "$libc" lib/x86_64-linux-gnu/libc.so.6)" 0 "glibc 2.36, x86_64"
old=$(root glibc212 "$libc" lib64/libc.so.6)
$PY -c '
import re, sys
b = open(sys.argv[1], "rb").read()
open(sys.argv[1], "wb").write(re.sub(rb"release version 2\.\d\d", b"release version 2.12", b))' "$old/lib64/libc.so.6"
fits "$old" 1 "glibc 2.12 is older than 2.17"
if [ -f /lib/ld-musl-x86_64.so.1 ]; then
	musl=$(root musl /lib/ld-musl-x86_64.so.1 lib/ld-musl-x86_64.so.1)
	fits "$musl" 0 "fits: musl-x86_64/libconnrefuse.so"
	expect_eq "$(echo "$out" | tail -n 1)" "LD_PRELOAD='/opt/connrefuse/musl-x86_64/libconnrefuse.so'" "a musl image's line"
else
	echo "note: musl-tools not installed here: the musl root is in make check-cross"
fi
if [ -f /usr/aarch64-linux-gnu/lib/libc.so.6 ]; then
	fits "$(root arm64 /usr/aarch64-linux-gnu/lib/libc.so.6 lib/aarch64-linux-gnu/libc.so.6)" 0 "fits: aarch64/libconnrefuse.so"
else
	echo "note: no arm64 libc here (gcc-aarch64-linux-gnu): the arm64 root is in make check-cross"
fi
fits "$(root scratch "$HELPERS/static-client" client)" 1 "static programs only"
# An absolute symlink in the root is followed inside it, not on this machine.
link=$T/linked
mkdir -p "$link/lib" "$link/usr/lib/x86_64-linux-gnu"
cp -L "$libc" "$link/usr/lib/x86_64-linux-gnu/libc.so.6"
$PY -c '
import re, sys
b = open(sys.argv[1], "rb").read()
open(sys.argv[1], "wb").write(re.sub(rb"release version 2\.\d\d", b"release version 2.19", b))' "$link/usr/lib/x86_64-linux-gnu/libc.so.6"
ln -s /usr/lib/x86_64-linux-gnu "$link/lib/x86_64-linux-gnu"
fits "$link" 0 "glibc 2.19, x86_64"
"$CLI" check --image "$T/no-such-root" 2> "$T/err"
expect_eq "$?" 1 "check --image of a missing folder: exit 1"
expect_grep "check --image .*no-such-root: No such file or directory" "$T/err" "and says so"
# An archive is untrusted input: a pax record whose length runs past its
# data (an out-of-bounds read before, under the sanitizers), and a loop of
# links, give an answer, never a crash.
$PY - "$T/bad.tar" <<'TAR'
import sys
def header(name, typ, size):
    h = bytearray(512)
    h[0:len(name)] = name
    h[124:136] = b"%011o\0" % size
    h[156] = ord(typ)
    h[257:263] = b"ustar\0"
    return bytes(h)
pax = b"60 a=b\n200 path=lib/x86_64-linux-gnu/libc.so.6\n"
out = header(b"pax", "x", len(pax)) + pax.ljust(512, b"\0")
out += header(b"loop1", "2", 0)[:157] + b"/loop2" + header(b"loop1", "2", 0)[163:]
out += header(b"loop2", "2", 0)[:157] + b"/loop1" + header(b"loop2", "2", 0)[163:]
open(sys.argv[1], "wb").write(out + bytes(1024))
TAR
"$CLI" check --image "$T/bad.tar" > "$T/bad.out" 2>&1
rc=$?
cat "$T/bad.out"
[ $rc = 1 ] || fail "a malformed archive: exit $rc"
ok "a malformed archive (a pax record past its data, a loop of links): no C library found, exit 1"
