# A unix-socket connect is resolved by the kernel in the program's own
# context: its working directory, its root, its mount namespace, its
# credentials; and its server sees the program's pid and credentials
# (SO_PEERCRED). Each case gives the same outcome bare, preloaded and under
# `run --seccomp` with the audit on (the supervisor must never connect a
# unix socket in its own context). The run is started from another folder
# that holds decoy listeners of the same names: a connect resolved there
# reaches the wrong socket.
. "$(dirname "$0")/lib.sh"
if ! out=$("$CLI" run --seccomp -- true 2>&1); then
	echo "seccomp user notification unavailable here: $out"
	exit 77
fi
[ "$(id -u)" = 0 ] || { echo "needs root (chroot, a mount namespace, a program run as nobody)"; exit 77; }
command -v setpriv > /dev/null || { echo "setpriv (util-linux) not installed"; exit 77; }

# The test's folder is searched by nobody (not read): the script, the rules
# and the library copies live where a program run as nobody reaches them.
chmod 711 "$T"
S=$T/unixcase.py
cp "$HERE/unixcase.py" "$S" && chmod 644 "$S"
log=$T/audit.log
cfg=$(config audit.cfg "version = 1;
log: { syslog = false; file = \"$log\"; level = \"all\"; };") && chmod 644 "$cfg"
NOBODY="setpriv --reuid=65534 --regid=65534 --clear-groups"

mkdir -p "$T/prog" "$T/run" "$T/mnt" "$T/jail" "$T/perm" "$T/peer"
chmod 777 "$T/peer"
chmod 755 "$T/perm"
# listen_at PATH [MODE]: a listener of the test's own (root), kept open.
listen_at() {
	$PY -c "
import os, socket, sys, time
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(64)
os.chmod(sys.argv[1], int(sys.argv[2], 8)); open(sys.argv[1] + '.up', 'w').close()
time.sleep(600)" "$1" "${2:-666}" &
	PIDS="$PIDS $!"
	wait_for test -e "$1.up" || fail "the listener at $1 did not start"
}
for name in x.sock gone.sock nothing-here.sock; do
	listen_at "$T/run/$name"   # decoys in the folder the run starts from
done
listen_at "$T/mnt/x.sock"          # hidden by the program's own tmpfs
listen_at "$T/perm/root.sock" 600  # root's alone

# same CASE WHAT [nobody] -- PROGRAM...: the program bare, preloaded and
# under run --seccomp, started from the decoys' folder; one outcome for all
# (on stdout: after a chroot, the library says on stderr that it no longer
# finds its rules file).
same() {
	what=$1 as=""
	shift
	[ "$1" = nobody ] && { as=$NOBODY; shift; }
	shift
	bare=$(cd "$T/run" && $as "$@")
	pre=$(cd "$T/run" && $as env CONNREFUSE_CONFIG="$cfg" LD_PRELOAD="$PRELOAD" "$@")
	sup=$(cd "$T/run" && "$CLI" run --seccomp -c "$cfg" -- $as "$@")
	echo "$what: bare '$bare', preloaded '$pre', --seccomp '$sup'"
	[ "$pre" = "$bare" ] || fail "$what: preloaded '$pre', bare '$bare'"
	[ "$sup" = "$bare" ] || fail "$what: under run --seccomp '$sup', bare '$bare'"
}

same "relative path, the program's own folder" -- $PY "$S" rel "$T/prog"
expect_eq "$bare" "connected to ours" "a relative path: the listener in the program's folder, in every mode"
same "relative path, a socket file with no listener" -- $PY "$S" stale "$T/prog"
expect_eq "$bare" ECONNREFUSED "a relative path to a socket file with no listener: ECONNREFUSED in every mode"
same "relative path, no file" -- $PY "$S" missing "$T/prog"
expect_eq "$bare" ENOENT "a relative path to nothing: ENOENT in every mode"
same "after chroot" -- $PY "$S" chroot "$T/jail"
expect_eq "$bare" "connected to ours" "a program that chroots first: the socket in its root, in every mode"
same "own mount namespace" -- unshare -m --propagation private sh -c \
	'mount -t tmpfs connrefuse-test "$1" && exec "$2" "$3" abs "$1"' sh "$T/mnt" "$PY" "$S"
expect_eq "$bare" "connected to ours" "a program in its own mount namespace: the socket on its tmpfs, in every mode"
# The preload library as nobody: a copy nobody can read.
PRELOAD_ROOT=$PRELOAD
PRELOAD=${ASAN_LIBS:+$ASAN_LIBS:}$(public_lib_dir)/libconnrefuse.so
same "a root-only socket, the program run as nobody" nobody -- $PY "$S" connect "$T/perm/root.sock"
expect_eq "$bare" EACCES "a socket file only root may open, connected as nobody: EACCES in every mode (the supervisor is root)"
same "what the server sees" nobody -- $PY "$S" peer "$T/peer"
expect_eq "$bare" "connected; the server sees pid of the client uid 65534 gid 65534" \
	"the server sees the program's own pid and credentials (SO_PEERCRED) in every mode"
PRELOAD=$PRELOAD_ROOT
# An abstract socket has no path: the same in every mode too.
same "abstract socket" -- $PY -c "
import socket
s = socket.socket(socket.AF_UNIX); s.bind('\0connrefuse-test-$$'); s.listen(1)
c = socket.socket(socket.AF_UNIX); c.connect('\0connrefuse-test-$$'); print('connected')"
expect_eq "$bare" connected "an abstract socket connects in every mode"

# The rules still act on unix sockets under run --seccomp: a path rule fails
# the connect with its errno, in the program's context, and is logged.
rcfg=$(config rule.cfg "version = 1;
log: { syslog = false; file = \"$T/rule.log\"; };
rules = ( { name = \"no-x\"; path = \"$T/prog/x.sock\"; action = \"fail\"; errno = \"EACCES\"; } );")
out=$(cd "$T/run" && "$CLI" run --seccomp -c "$rcfg" -- $PY "$S" abs "$T/prog")
expect_eq "$out" EACCES "under run --seccomp a path rule still fails a unix connect"
expect_grep "^${STAMP}result=failed simulated=yes rule=no-x action=fail .* dst=$T/prog/x\\.sock proto=unix errno=EACCES " \
	"$T/rule.log" "and logs it"
