#!/bin/sh
# private-dev.sh CMD...: runs CMD in a private mount namespace whose /dev is a
# fresh tmpfs (the machine's device nodes linked back in), so that a test can
# put its own syslog socket at /dev/log without touching the machine's /dev.
set -eu
[ "$(id -u)" = 0 ] || { echo "private-dev.sh: needs root (unshare -m)" >&2; exit 77; }
keep=$(mktemp -d /tmp/connrefuse-dev.XXXXXX)
# The bind mount lives in the namespace: out here the folder stays empty,
# and goes when the command ends.
trap 'rmdir "$keep" 2>/dev/null || true' EXIT
unshare -m --propagation private sh -c '
	set -eu
	keep=$1; shift
	mount --bind /dev "$keep"
	mount -t tmpfs -o mode=0755 tmpfs /dev
	for n in null zero full random urandom tty ptmx kmsg; do
		[ -e "$keep/$n" ] && ln -s "$keep/$n" "/dev/$n"
	done
	ln -s /proc/self/fd /dev/fd
	ln -s /proc/self/fd/0 /dev/stdin
	ln -s /proc/self/fd/1 /dev/stdout
	ln -s /proc/self/fd/2 /dev/stderr
	mkdir /dev/pts /dev/shm
	[ -d "$keep/pts" ] && mount --bind "$keep/pts" /dev/pts
	[ -d "$keep/shm" ] && mount --bind "$keep/shm" /dev/shm
	"$@"
' sh "$keep" "$@"
