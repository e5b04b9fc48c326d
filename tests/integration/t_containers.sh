# Containers without rebuilding the image, reproduced with a mount
# namespace: the system's libconfig hidden (an image may have none), the
# bundle of make bundle mounted read-only at /opt/connrefuse, the rules
# beside it; a program preloaded with
# '/opt/connrefuse/$PLATFORM/libconnrefuse.so' is ruled and logged. The recipes (docker run, compose, Kubernetes) parse and
# name the same paths.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "needs root for a private mount namespace"; exit 77; }
skip_under_sanitizers "the bundle is the plain build's"
SRC=$(cd "$HERE/../.." && pwd)
EX=$SRC/examples/fleet
BUNDLE=$CR_BUILD/bundle
ARCH=$(uname -m)
[ -f "$BUNDLE/$ARCH/libconnrefuse.so" ] || fail "no bundle: make bundle"
expect_eq "$(ls "$BUNDLE/$ARCH" | tr '\n' ' ')" "libconfig.so.9 libconnrefuse.so " "make bundle: $ARCH/, the library and its libconfig"
if [ "$ARCH" = x86_64 ]; then
	# What glibc's loader makes of $PLATFORM on an Intel CPU with AVX2 (or
	# AVX-512ER): the bundle answers to those names too.
	expect_eq "$(readlink "$BUNDLE/haswell") $(readlink "$BUNDLE/xeon_phi")" "x86_64 x86_64" \
		"make bundle: haswell/ and xeon_phi/ are x86_64/"
fi
syslib=$(ldconfig -p | awk '/libconfig\.so\.9 .*x86-64|libconfig\.so\.9 / { print $NF; exit }')
[ -n "$syslib" ] || fail "no system libconfig.so.9 to hide"
C=$(closed_port)
mkdir -p "$T/rules"
printf 'version = 1;\nlog: { syslog = false; stderr = true; };\nrules = ( { name = "chaos"; dst = "127.0.0.1"; port = %s; action = "refuse"; } );\n' \
	"$C" > "$T/rules/rules.cfg"
connect="import socket
try: socket.create_connection(('127.0.0.1', $C))
except OSError as e: print(e.errno)"
unshare -m --propagation private sh -c "
	mount --bind /dev/null $syslib
	mount -t tmpfs -o mode=0755 tmpfs /opt
	mkdir /opt/connrefuse /opt/connrefuse-rules
	mount --bind $BUNDLE /opt/connrefuse && mount -o remount,bind,ro /opt/connrefuse
	mount --bind $T/rules /opt/connrefuse-rules && mount -o remount,bind,ro /opt/connrefuse-rules
	# The plain library cannot load here: this is an image without libconfig.
	LD_PRELOAD=$LIB $PY -c 'print(1)' > $T/plain.out 2> $T/plain.err
	CONNREFUSE_CONFIG=/opt/connrefuse-rules/rules.cfg LD_PRELOAD='/opt/connrefuse/\$PLATFORM/libconnrefuse.so' \
		$PY -c \"$connect\" > $T/bundle.out 2> $T/bundle.err
	touch /opt/connrefuse/x 2> /dev/null && echo writable > $T/ro.out
	true
" || fail "the namespace"
expect_grep "libconfig\\.so\\.9: .*(file too short|cannot open)" "$T/plain.err" \
	"the environment: the system's libconfig hidden, the plain library cannot load"
expect_eq "$(cat "$T/bundle.out")" "111" "the bundle at /opt/connrefuse loads (its own libconfig) and refuses"
expect_grep "^connrefuse: result=refused simulated=yes rule=chaos action=refuse pid=[0-9]+ uid=0 comm=python3 " \
	"$T/bundle.err" "the bundle logs the refusal"
[ ! -e "$T/ro.out" ] || fail "the bundle mount is writable"
ok "the bundle is mounted read-only"

# The recipes: they parse, and they name the paths this test used.
sh -n "$EX/docker-run.sh" || fail "docker-run.sh does not parse"
$PY -c '
import sys, yaml
compose = yaml.safe_load(open(sys.argv[1]))
app = compose["services"]["app"]
assert app["environment"]["LD_PRELOAD"] == "/opt/connrefuse/$$PLATFORM/libconnrefuse.so", app
assert "./build/bundle:/opt/connrefuse:ro" in app["volumes"], app["volumes"]
assert "build" not in app, "the image is built"
docs = list(yaml.safe_load_all(open(sys.argv[2])))
dep = [d for d in docs if d["kind"] == "Deployment"][0]
c = dep["spec"]["template"]["spec"]["containers"][0]
env = {e["name"]: e["value"] for e in c["env"]}
assert env["LD_PRELOAD"] == "/opt/connrefuse/$PLATFORM/libconnrefuse.so", env
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
assert mounts["/opt/connrefuse"]["readOnly"] and mounts["/etc/connrefuse"]["readOnly"], mounts
vols = {v["name"]: v for v in dep["spec"]["template"]["spec"]["volumes"]}
assert vols[mounts["/opt/connrefuse"]["name"]]["hostPath"]["path"] == "/opt/connrefuse", vols
' "$EX/compose.yaml" "$EX/kubernetes.yaml" || fail "the recipes"
grep -qF "'LD_PRELOAD=/opt/connrefuse/\$PLATFORM/libconnrefuse.so'" "$EX/docker-run.sh" || fail "docker-run.sh: library path"
ok "docker run, compose and Kubernetes recipes parse and mount the bundle read-only at /opt/connrefuse"
