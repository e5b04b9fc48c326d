# make check-containers: the bundle in real containers (podman with runc;
# images made here without any registry: Debian 11 and 12 roots from
# debootstrap, a musl root from the musl loader and a musl client, a
# scratch root with the static command alone). In each: a real program is
# refused by a rule and its line arrives in the mounted log folder; a
# program the rules do not match runs exactly as without the bundle;
# check --image names the library; the static command rules a static
# client under run --seccomp inside the container. connrefuse audit on the
# host logs the failed connects of clients in a container.
. "$(dirname "$0")/lib.sh"
skip_under_sanitizers "the bundle is the plain build's"
[ "$(id -u)" = 0 ] || { echo "needs root (podman with runc, as NOTES.md measured)"; exit 77; }
B=$CR_BUILD/bundle
ARCH=$(uname -m)
for f in "$ARCH/libconnrefuse.so" "musl-$ARCH/libconnrefuse.so" bin/connrefuse; do
	[ -f "$B/$f" ] || fail "no $B/$f: make bundle"
done
TOOLS=$(cd "$HERE/../tools" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
# This VM: runc (crun refuses its hybrid cgroups), cgroupfs, and limits
# the VM lets a container set (NOTES.md). Images are kept between runs.
cat > "$T/containers.conf" <<'CONF'
[containers]
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
export CONTAINERS_CONF=$T/containers.conf
STORE=/var/cache/connrefuse/podman
mkdir -p "$STORE"
po() { podman --root "$STORE/root" --runroot "$STORE/run" --storage-driver vfs "$@"; }
# image NAME ROOT: ROOT imported as connrefuse-test/NAME, again when ROOT changed.
image() {
	stamp=$(find "$2" -xdev -newer "$STORE/$1.stamp" -print -quit 2>/dev/null || echo new)
	if [ -n "$stamp" ] || ! po image exists "connrefuse-test/$1"; then
		tar -C "$2" -c . | po import - "connrefuse-test/$1" > /dev/null 2>&1 || fail "podman import $1"
		touch "$STORE/$1.stamp"
	fi
	echo "connrefuse-test/$1"
}
P=$(closed_port)     # refused by the rule
Q=$(start_listener)  # no rule: connects
mkdir -p "$T/rules" "$T/logs" "$T/bin"
chmod 777 "$T/logs"
printf 'version = 1;\nlog: { syslog = false; file = "/var/log/connrefuse/audit.log"; };\nrules = ( { name = "chaos"; dst = "127.0.0.1"; port = %s; action = "refuse"; } );\n' \
	"$P" > "$T/rules/rules.cfg"
cp "$HELPERS/static-client" "$T/bin/"
# inside IMAGE LIBRARY COMMAND...: COMMAND in a container of IMAGE, the bundle
# and the rules mounted read-only, the log folder writable, the host's
# loopback; LIBRARY preloaded ("" for none).
inside() {
	img=$1 lib=$2
	shift 2
	po run --rm --network host -v "$B:/opt/connrefuse:ro" -v "$T/rules:/etc/connrefuse:ro" \
		-v "$T/logs:/var/log/connrefuse" -v "$T/bin:/opt/test:ro" \
		${lib:+-e "LD_PRELOAD=$lib"} -e CONNREFUSE_CONFIG=/etc/connrefuse/rules.cfg "$img" "$@"
}
PY_CONNECT="import socket, sys
for port in sys.argv[1:]:
    try:
        socket.create_connection(('127.0.0.1', int(port))).close(); print(port, 'connected')
    except ConnectionRefusedError:
        print(port, 'refused')"
UNMATCHED="import os, sys; print('args', sys.argv[1:], 'cwd', os.getcwd()); sys.exit(3)"

# debian SUITE GLIBC: the recipe in a Debian image of that suite.
debian() {
	suite=$1 glibc=$2
	root=$("$TOOLS/debian-root" "$suite") || fail "debootstrap $suite"
	out=$("$CLI" check --image "$root")
	echo "$out"
	case $out in *"glibc $glibc, $ARCH"*"fits: $ARCH/libconnrefuse.so"*) ok "check --image: the $suite root is glibc $glibc, $ARCH/ fits" ;;
	*) fail "check --image $suite: $out" ;; esac
	img=$(image "$suite" "$root")
	# The same root as podman export writes it: one tar archive.
	c=$(po create "$img" /bin/true) && po export "$c" > "$T/$suite.tar" && po rm "$c" > /dev/null || fail "podman export"
	out=$("$CLI" check --image "$T/$suite.tar")
	rm -f "$T/$suite.tar"
	case $out in *"glibc $glibc, $ARCH"*"fits: $ARCH/libconnrefuse.so"*) ok "check --image of podman export's archive: glibc $glibc" ;;
	*) fail "check --image of the exported $suite: $out" ;; esac
	lib='/opt/connrefuse/$PLATFORM/libconnrefuse.so'
	: > "$T/logs/audit.log"
	out=$(inside "$img" "$lib" /usr/bin/python3 -c "$PY_CONNECT" "$P" "$Q" | tr '\n' ' ')
	expect_eq "$out" "$P refused $Q connected " "$suite (glibc $glibc): python3 refused by the rule, the rest connects"
	expect_grep "result=refused simulated=yes rule=chaos action=refuse pid=[0-9]+ uid=0 comm=python3 (cgroup=[^ ]+ )?dst=127\\.0\\.0\\.1:$P " \
		"$T/logs/audit.log" "$suite: python3's line in the mounted log folder"
	inside "$img" "$lib" /usr/bin/curl -sS "http://127.0.0.1:$P/" > "$T/curl.out" 2>&1
	echo "curl exit $?: $(cat "$T/curl.out")"
	expect_grep "^curl: \\(7\\) Failed to connect to 127\\.0\\.0\\.1 port $P" "$T/curl.out" "$suite: curl refused (exit 7)"
	expect_grep "result=refused simulated=yes rule=chaos action=refuse .* comm=curl (cgroup=[^ ]+ )?dst=127\\.0\\.0\\.1:$P " \
		"$T/logs/audit.log" "$suite: curl's line"
	for l in "" "$lib"; do
		inside "$img" "$l" /usr/bin/python3 -c "$UNMATCHED" a 'b c' > "$T/unmatched.${l:+bundle}" 2>&1
		echo "exit $?" >> "$T/unmatched.${l:+bundle}"
	done
	cat "$T/unmatched.bundle"
	cmp -s "$T/unmatched." "$T/unmatched.bundle" || { diff "$T/unmatched." "$T/unmatched.bundle"; fail "$suite: a program no rule matches differs with the bundle"; }
	ok "$suite: a program no rule matches runs exactly as without the bundle (output and exit status)"
	out=$(inside "$img" "" /opt/connrefuse/bin/connrefuse run --seccomp -c /etc/connrefuse/rules.cfg -- /opt/test/static-client "$P" "$Q" 2>&1 | tr '\n' ' ')
	expect_eq "$out" "$P refused $Q connected " "$suite: the static command's run --seccomp rules a static client inside the container"
	out=$(inside "$img" "" /opt/connrefuse/bin/connrefuse run -c /etc/connrefuse/rules.cfg -- /usr/bin/python3 -c "$PY_CONNECT" "$P" "$Q" 2>&1 | tr '\n' ' ')
	expect_eq "$out" "$P refused $Q connected " "$suite: the static command's run preloads the bundle's library that fits ($ARCH/)"
}
command -v debootstrap > /dev/null || fail "debootstrap is missing (make check-containers installs it)"
debian bullseye 2.31
debian bookworm 2.36

# run --seccomp under the container runtime's own rules: podman's default
# seccomp profile as nobody with every capability dropped works; a profile
# that refuses pidfd_getfd gets a message naming it, exit 125, and the
# program is not run.
out=$(po run --rm --network host --user 65534 --cap-drop all -v "$B:/opt/connrefuse:ro" -v "$T/bin:/opt/test:ro" \
	"$img" /opt/connrefuse/bin/connrefuse run --seccomp --refuse "127.0.0.1:$P" -- /opt/test/static-client "$P" "$Q" 2>&1 |
	grep -v 'no syslog receiver' | tr '\n' ' ')
expect_eq "$out" "$P refused $Q connected " "run --seccomp in a container, as nobody, every capability dropped (podman's default profile)"
$PY -c '
import json, sys
profile = json.load(open(sys.argv[1]))
for rule in profile["syscalls"]:
    if "pidfd_getfd" in rule["names"]:
        rule["names"].remove("pidfd_getfd")
json.dump(profile, open(sys.argv[2], "w"))' /usr/share/containers/seccomp.json "$T/no-pidfd-getfd.json"
po run --rm --network host --security-opt seccomp="$T/no-pidfd-getfd.json" -v "$B:/opt/connrefuse:ro" -v "$T/bin:/opt/test:ro" \
	"$img" /opt/connrefuse/bin/connrefuse run --seccomp --refuse "127.0.0.1:$P" -- /opt/test/static-client "$P" > "$T/nopidfd" 2>&1
rc=$?
cat "$T/nopidfd"
expect_eq "$rc" 125 "a profile that refuses pidfd_getfd: exit 125"
expect_grep "the system call pidfd_getfd is refused here .* allow seccomp, pidfd_open, pidfd_getfd" "$T/nopidfd" "and a message naming the call and what to allow"
expect_no_grep "refused$" "$T/nopidfd" "the program was not run"

# connrefuse audit sees the failed connects of a container, nothing loaded
# into it: t_audit's oracles in the container's own network namespace
# (--network none; set up from the host with nsenter), its clients python3,
# curl and a static C client. The container shares the host's pid
# namespace (--pid host) so that the test knows each client's pid as the
# auditor names it.
if [ -r /sys/kernel/btf/vmlinux ] && command -v nft > /dev/null && command -v nsenter > /dev/null; then
	ctl=$T/audit-ctl
	mkdir -p "$ctl"
	CLOSED=7000 DROP=7001 HOSTUN=7002 ADMIN=7003 RST=7004
	cat > "$ctl/clients.sh" <<EOF2
for port in $CLOSED $DROP $HOSTUN $ADMIN $RST; do
	sh -c 'echo \$\$ > /ctl/pid.python3.\$0; exec /usr/bin/python3 -c "import socket, sys
try: socket.create_connection((\"127.0.0.1\", int(sys.argv[1])))
except OSError as e: print(e.errno)" \$0' \$port &
	sh -c 'echo \$\$ > /ctl/pid.curl.\$0; exec /usr/bin/curl -s -o /dev/null http://127.0.0.1:\$0/' \$port &
	sh -c 'echo \$\$ > /ctl/pid.static-client.\$0; exec /opt/test/static-client \$0' \$port &
done
wait
EOF2
	c=connrefuse-audit-$$
	po run -d --rm --name "$c" --network none --pid host -v "$T/bin:/opt/test:ro" -v "$ctl:/ctl" connrefuse-test/bookworm \
		/bin/sh -c 'i=0; until [ -e /ctl/go ]; do i=$((i + 1)); [ $i -lt 4000 ] || exit 1; sleep 0.05; done; sh /ctl/clients.sh > /ctl/out 2>&1; touch /ctl/done' > /dev/null ||
		fail "podman run"
	cpid=$(po inspect -f '{{.State.Pid}}' "$c")
	cg=$(awk -F: '$1 == "0" { print $3 }' "/proc/$cpid/cgroup")
	[ -n "$cg" ] || fail "the container's cgroup (v2): $(cat "/proc/$cpid/cgroup")"
	nsenter -t "$cpid" -n sh -c "ip link set lo up && sysctl -qw net.ipv4.tcp_syn_retries=1 && nft -f -" <<EOF2 || fail "nft in the container's network namespace"
table inet audit_test {
	chain out {
		type filter hook output priority 0; policy accept;
$(audit_oracle_rules)
	}
}
EOF2
	"$CLI" audit --cgroup "$cg" > "$T/caudit.out" 2> "$T/caudit.err" &
	echo $! > "$T/caudit.pid"; echo $! >> "$T/pids"
	wait_for grep -q watching "$T/caudit.err" || fail "audit --cgroup $cg did not start: $(cat "$T/caudit.err")"
	touch "$ctl/go"
	wait_for test -e "$ctl/done" || fail "the container's clients did not finish: $(cat "$ctl/out")"
	for cl in python3 curl static-client; do
		for pe in $CLOSED:ECONNREFUSED $DROP:ETIMEDOUT $HOSTUN:EHOSTUNREACH $ADMIN:EHOSTUNREACH $RST:ECONNREFUSED; do
			port=${pe%%:*} err=${pe#*:}
			pid=$(cat "$ctl/pid.$cl.$port")
			res=failed; [ "$err" != ECONNREFUSED ] || res=refused
			wait_for grep -q " pid=$pid " "$T/caudit.out" || { cat "$T/caudit.out"; fail "container, $cl, port $port: no line of the auditor"; }
			expect_eq "$(grep -c " pid=$pid " "$T/caudit.out")" 1 "container, $cl, port $port: one line"
			expect_grep "^(time=[^ ]+ machine=[^ ]+ )?result=$res simulated=no source=kernel action=pass pid=$pid uid=0 comm=$cl cgroup=$cg dst=127\\.0\\.0\\.1:$port proto=tcp errno=$err " \
				"$T/caudit.out" "container, $cl, port $port: $err, its pid, uid, comm and the container's cgroup"
		done
	done
	kill "$(cat "$T/caudit.pid")"
else
	echo "note: audit in a container not tried (no BTF, nft or nsenter)"
fi

# A musl image: its loader and a musl client, nothing else.
mroot=$T/musl-root
mkdir -p "$mroot/lib" "$mroot/bin"
cp -L /lib/ld-musl-x86_64.so.1 "$mroot/lib/"
musl-gcc -O2 -Wall -Werror -o "$mroot/bin/client" "$SRC/tests/cross/client.c" || fail "musl-gcc"
out=$("$CLI" check --image "$mroot")
case $out in *"musl, $ARCH"*"fits: musl-$ARCH/libconnrefuse.so"*) ok "check --image: the musl root, musl-$ARCH/ fits" ;; *) fail "check --image musl: $out" ;; esac
img=$(image musl "$mroot")
: > "$T/logs/audit.log"
out=$(inside "$img" "/opt/connrefuse/musl-$ARCH/libconnrefuse.so" /bin/client "$P" "$Q" | tr '\n' ' ')
expect_eq "$out" "$P refused $Q connected " "musl image: the musl client refused by the rule, the rest connects"
expect_grep "result=refused simulated=yes rule=chaos action=refuse .* comm=client (cgroup=[^ ]+ )?dst=127\\.0\\.0\\.1:$P " \
	"$T/logs/audit.log" "musl image: the client's line"
out=$(inside "$img" "" /opt/connrefuse/bin/connrefuse run -c /etc/connrefuse/rules.cfg -- /bin/client "$P" "$Q" 2>&1 | tr '\n' ' ')
expect_eq "$out" "$P refused $Q connected " "musl image: the static command's run preloads musl-$ARCH/"

# A scratch image: the static command and a rules file, nothing else.
sroot=$T/scratch-root
mkdir -p "$sroot/var/log/connrefuse" # where the rules send their lines (check asks)
cp "$B/bin/connrefuse" "$T/rules/rules.cfg" "$sroot/"
img=$(image scratch "$sroot")
out=$(po run --rm --network none "$img" /connrefuse check /rules.cfg)
echo "$out"
case $out in *'name = "chaos"'*) ok "scratch image: the static connrefuse check reads the rules" ;; *) fail "scratch: $out" ;; esac
out=$(po run --rm --network none "$img" /connrefuse decode 10061 | head -n 1)
expect_eq "$out" "ECONNREFUSED 111 0x6f" "scratch image: decode"

# The three recipes of examples/fleet, run for real with podman, each from a
# folder laid out as the checkout they expect (build/bundle, and
# examples/fleet/rules.cfg holding this test's rule), inside a private /dev
# whose /dev/log is a real rsyslogd of the test's: the line must arrive in
# syslog, where the recipes send it. Containers use the host's network (no
# bridge): the shims below add --network host to `docker run`, and the
# test's copies of the compose file and the Pod spec say so.
EX=$SRC/examples/fleet
site=$T/site
mkdir -p "$site/build" "$site/examples/fleet" "$T/shim"
cp -r "$B" "$site/build/bundle"
printf 'version = 1;\nlog: { syslog = true; facility = "local3"; };\nrules = ( { name = "recipe"; dst = "127.0.0.1"; port = %s; action = "refuse"; } );\n' \
	"$P" > "$site/examples/fleet/rules.cfg"
cat > "$T/shim/podman" <<SHIM
#!/bin/sh
exec /usr/bin/podman --root "$STORE/root" --runroot "$STORE/run" --storage-driver vfs "\$@"
SHIM
cat > "$T/shim/docker" <<'SHIM'
#!/bin/sh
# docker as the recipe calls it: podman, the same command line.
[ "$1" = run ] && { shift; set -- run --network host "$@"; }
exec podman "$@"
SHIM
chmod +x "$T/shim/podman" "$T/shim/docker"
RECIPE_PY="import socket
try: socket.create_connection(('127.0.0.1', $P))
except OSError as e: print('refused', e.errno, flush=True)"
bullseye=connrefuse-test/bullseye
# recipe NAME SCRIPT: SCRIPT run from the site folder with rsyslogd at
# /dev/log; the program's output and the syslog lines kept as NAME.out/.log.
recipe() {
	printf '%s\n' "$2" > "$T/$1.sh"
	(cd "$site" && PATH=$T/shim:$PATH sh "$HERE/with-rsyslog.sh" "$T/$1.log" sh "$T/$1.sh") > "$T/$1.out" 2>&1
	cat "$T/$1.out"
	expect_grep "refused 111" "$T/$1.out" "$1: python3 in the container is refused by the recipe's rule"
	expect_grep "^local3\\.warning connrefuse\\[[0-9]+\\]: result=refused simulated=yes rule=recipe action=refuse .* comm=python3 .*dst=127\\.0\\.0\\.1:$P " \
		"$T/$1.log" "$1: its line arrives in syslog through the mounted /dev/log"
}
recipe docker-run "sh '$EX/docker-run.sh' $bullseye /usr/bin/python3 -c \"$RECIPE_PY\""

# Kubernetes: podman kube play, the Pod spec for real (volumes, a ConfigMap,
# env). The node's /opt/connrefuse is the bundle, in a mount namespace.
$PY - "$EX/kubernetes.yaml" "$site/kube.yaml" "$P" "$RECIPE_PY" <<'KUBE' || fail "the Pod spec"
import sys, yaml
docs = list(yaml.safe_load_all(open(sys.argv[1])))
for d in docs:
    if d["kind"] == "ConfigMap":
        d["data"]["rules.cfg"] = ('version = 1;\nlog: { syslog = true; facility = "local3"; };\n'
                                  'rules = ( { name = "recipe"; dst = "127.0.0.1"; port = %s; action = "refuse"; } );\n' % sys.argv[3])
    if d["kind"] == "Deployment":
        d["spec"]["replicas"] = 1
        pod = d["spec"]["template"]["spec"]
        pod["hostNetwork"] = True
        app = pod["containers"][0]
        app["image"] = "localhost/connrefuse-test/bullseye:latest"
        app["command"] = ["/usr/bin/python3", "-c", sys.argv[4] + "\nimport time; time.sleep(60)"]
yaml.safe_dump_all(docs, open(sys.argv[2], "w"))
KUBE
recipe kubernetes "unshare -m --propagation private sh -c '
	mount -t tmpfs -o mode=0755 tmpfs /opt && mkdir /opt/connrefuse && mount --bind \"$site/build/bundle\" /opt/connrefuse
	podman kube play --network host kube.yaml > /dev/null
	i=0; until podman logs myapp-pod-0-app 2> /dev/null | grep -q refused; do i=\$((i + 1)); [ \$i -lt 400 ] || break; sleep 0.05; done
	podman logs myapp-pod-0-app
	podman kube down kube.yaml > /dev/null 2>&1'"

# compose: not run. Debian 12's podman-compose (1.0.3) gives every service
# the project's bridge network (--net PROJECT_default) even with
# network_mode: host, which podman refuses ("cannot set multiple networks
# without bridge network mode"), and containers here use the host's network
# or none. The compose file is checked by t_containers (its paths and
# variables) and is the docker run line above, written as compose.
