# Who and where, in every line: uid= (real) after pid=, euid= only when it
# differs, cgroup= after comm= when the process is not in the root cgroup
# (read when the line is made: a process that moves shows its new cgroup).
# Under run --seccomp the supervisor reads them from /proc for the program.
. "$(dirname "$0")/lib.sh"
GOLDEN_SKIP=1 # whether a cgroup can be made here decides which lines there are; each is checked below
[ "$(id -u)" = 0 ] || { echo "needs root to change uids and cgroups"; exit 77; }
command -v setpriv > /dev/null || { echo "setpriv (util-linux) not installed"; exit 77; }
C=$(closed_port)
dir=$(public_lib_dir)
printf 'version = 1;\nlog: { syslog = false; stderr = true; };\n' > "$dir/audit.cfg"
chmod 644 "$dir/audit.cfg"
connect="import socket
try: socket.create_connection(('127.0.0.1', $C))
except OSError as e: print(e.errno)"
pre=${ASAN_LIBS:+$ASAN_LIBS:}$dir/libconnrefuse.so

CONNREFUSE_CONFIG=$dir/audit.cfg LD_PRELOAD=$pre $PY -c "$connect" > "$T/out" 2> "$T/root.err"
expect_grep "^connrefuse: result=refused simulated=no action=pass pid=[0-9]+ uid=0 comm=python3 dst=127\\.0\\.0\\.1:$C " \
	"$T/root.err" "root: uid=0, no euid=, no cgroup= in the root cgroup"

setpriv --reuid=65534 --regid=65534 --clear-groups env CONNREFUSE_CONFIG="$dir/audit.cfg" LD_PRELOAD="$pre" \
	$PY -c "$connect" > "$T/out" 2> "$T/nobody.err"
expect_grep "^connrefuse: result=refused simulated=no action=pass pid=[0-9]+ uid=65534 comm=python3 dst=" \
	"$T/nobody.err" "another user: uid=65534"

CONNREFUSE_CONFIG=$dir/audit.cfg LD_PRELOAD=$pre $PY -c "import os
os.seteuid(65534)
$connect" > "$T/out" 2> "$T/euid.err"
expect_grep "^connrefuse: result=refused simulated=no action=pass pid=[0-9]+ uid=0 euid=65534 comm=python3 dst=" \
	"$T/euid.err" "an effective uid that differs: uid=0 euid=65534"

# A cgroup of our own in the v2 hierarchy (wherever it is mounted), for the
# time of one program: it moves itself in, connects, moves back, connects.
v2=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)
if [ -n "$v2" ] && mkdir "$v2/connrefuse-test.$$" 2> /dev/null; then
	echo "$v2/connrefuse-test.$$" >> "$T/remove"
	CONNREFUSE_CONFIG=$dir/audit.cfg LD_PRELOAD=$pre $PY -c "import os
open('$v2/connrefuse-test.$$/cgroup.procs', 'w').write(str(os.getpid()))
$connect
open('$v2/cgroup.procs', 'w').write(str(os.getpid()))
$connect" > "$T/out" 2> "$T/cgroup.err"
	cat "$T/cgroup.err"
	expect_grep "^connrefuse: result=refused simulated=no action=pass pid=[0-9]+ uid=0 comm=python3 cgroup=/connrefuse-test\\.$$ dst=" \
		"$T/cgroup.err" "in a cgroup: cgroup=/connrefuse-test.$$"
	expect_eq "$(sed -n 2p "$T/cgroup.err" | grep -c 'cgroup=')" 0 "moved back to the root: no cgroup= (read when the line is made)"
else
	echo "note: no writable cgroup v2 hierarchy here: cgroup= is not checked"
fi

# run --seccomp: the supervisor names the program's uid, read from /proc
# (a rule's refusal: the supervisor makes no connect of its own). The
# command and the client are copied where nobody can run them.
cp "$CLI" "$HELPERS/static-client" "$dir/"
chmod 755 "$dir/connrefuse" "$dir/static-client"
printf 'version = 1;\nlog: { syslog = false; stderr = true; };\nrules = ( { name = "r"; port = %s; action = "refuse"; } );\n' \
	"$C" > "$dir/rule.cfg"
chmod 644 "$dir/rule.cfg"
setpriv --reuid=65534 --regid=65534 --clear-groups timeout 20 "$dir/connrefuse" run --seccomp -c "$dir/rule.cfg" -- \
	"$dir/static-client" "$C" > "$T/out" 2> "$T/seccomp.err"
expect_grep "^connrefuse: result=refused simulated=yes rule=r action=refuse pid=[0-9]+ uid=65534 comm=static-client dst=" \
	"$T/seccomp.err" "run --seccomp, a program of another user: uid=65534 from /proc"
