# make check-cross: the bundle's other libraries, each with a program of
# its own kind. musl: a musl-linked client (as in Alpine) preloaded with
# bundle/musl-x86_64 is ruled and logged. arm64: a cross-built client under
# qemu-user, preloaded with bundle/aarch64. The rules in text and compiled
# (on this x86-64 machine) forms; a compiled file of a layout that does not
# agree (another byte order) is refused with a message.
. "$(dirname "$0")/lib.sh"
skip_under_sanitizers "the bundle is the plain build's"
B=$CR_BUILD/bundle
SRC=$(cd "$HERE/../.." && pwd)
for f in x86_64/libconnrefuse.so musl-x86_64/libconnrefuse.so aarch64/libconnrefuse.so bin/connrefuse; do
	[ -f "$B/$f" ] || fail "no $B/$f: make bundle"
done
P=$(closed_port)   # the rule's
Q=$(start_listener)
cfg=$(config cross.cfg "version = 1;
log: { syslog = false; file = \"$T/cross.log\"; };
rules = ( { name = \"cross\"; dst = \"127.0.0.1\"; port = $P; action = \"refuse\"; } );")
"$CLI" compile "$cfg" -o "$T/cross.compiled" > /dev/null || fail "compile"
# The same file with the layout tag of a big-endian machine (header byte 12).
$PY -c 'import sys; b = bytearray(open(sys.argv[1], "rb").read()); b[12] = 2; open(sys.argv[2], "wb").write(b)' \
	"$T/cross.compiled" "$T/other-layout.compiled"

# ruled KIND RUN...: the client run with RUN (which preloads the library),
# with the text rules, then the compiled ones; a refusal, a connection, and
# the refusal's line each time.
ruled() {
	kind=$1
	shift
	for rules in "$cfg" "$T/cross.compiled"; do
		: > "$T/cross.log"
		out=$(CONNREFUSE_CONFIG=$rules "$@" "$P" "$Q" | tr '\n' ' ')
		expect_eq "$out" "$P refused $Q connected " "$kind, $(basename "$rules"): the rule refuses, the rest connects"
		expect_grep "^${STAMP}result=refused simulated=yes rule=cross action=refuse pid=[0-9]+ uid=[0-9]+ comm=[^ ]+ dst=127\\.0\\.0\\.1:$P proto=tcp errno=ECONNREFUSED " \
			"$T/cross.log" "$kind, $(basename "$rules"): the line"
	done
	out=$(CONNREFUSE_CONFIG=$T/other-layout.compiled "$@" "$Q" 2>&1)
	case $out in
	*"compiled on another kind of machine"*"$Q connected"*|*"$Q connected"*"compiled on another kind of machine"*)
		ok "$kind: a compiled file of another layout is refused with a message, and the program runs without rules" ;;
	*) fail "$kind: another layout: $out" ;;
	esac
}

musl-gcc -O2 -Wall -Werror -o "$T/musl-client" "$SRC/tests/cross/client.c" || fail "musl-gcc"
file "$T/musl-client" | grep -q 'interpreter /lib/ld-musl' || fail "the client is not a musl program"
out=$(LD_PRELOAD=$B/x86_64/libconnrefuse.so "$T/musl-client" "$Q" 2>&1)
echo "the glibc library in a musl program: $out"
ruled "musl" env LD_PRELOAD="$B/musl-x86_64/libconnrefuse.so" "$T/musl-client"

if command -v qemu-aarch64 > /dev/null && [ -d /usr/aarch64-linux-gnu ]; then
	aarch64-linux-gnu-gcc -O2 -Wall -Werror -o "$T/arm64-client" "$SRC/tests/cross/client.c" || fail "aarch64 gcc"
	file "$T/arm64-client" | grep -q 'ARM aarch64' || fail "the client is not an arm64 program"
	ruled "arm64 (qemu-user)" qemu-aarch64 -L /usr/aarch64-linux-gnu -E LD_PRELOAD="$B/aarch64/libconnrefuse.so" "$T/arm64-client"
	# The loader expands $PLATFORM to the architecture's name: one
	# LD_PRELOAD line for every glibc image.
	out=$(CONNREFUSE_CONFIG=$cfg qemu-aarch64 -L /usr/aarch64-linux-gnu -E LD_PRELOAD="$B/\$PLATFORM/libconnrefuse.so" "$T/arm64-client" "$P")
	expect_eq "$out" "$P refused" "arm64: LD_PRELOAD='$B/\$PLATFORM/libconnrefuse.so' finds aarch64/"
else
	fail "qemu-user or the arm64 cross tools are missing (make check-cross installs them)"
fi
: > "$T/cross.log"
CONNREFUSE_CONFIG=$cfg LD_PRELOAD="$B/\$PLATFORM/libconnrefuse.so" $PY -c "
import socket
try: socket.create_connection(('127.0.0.1', $P))
except ConnectionRefusedError: pass"
expect_grep "^${STAMP}result=refused simulated=yes rule=cross action=refuse .* comm=python3 " "$T/cross.log" \
	"x86-64: LD_PRELOAD='$B/\$PLATFORM/libconnrefuse.so' finds x86_64/"
