#!/bin/sh
# with-rsyslog.sh OUT CMD...: inside a private /dev (private-dev.sh), starts a
# real rsyslogd listening on /dev/log and writing every message to OUT, runs
# CMD, waits until rsyslogd has written what it received, and stops it.
# Lines in OUT: "FACILITY.SEVERITY TAG MSG".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=$1; shift
work=$(mktemp -d /tmp/connrefuse-rsyslog.XXXXXX)
cat > "$work/rsyslog.conf" <<CONF
global(workDirectory="$work")
module(load="imuxsock" SysSock.Use="off")
input(type="imuxsock" Socket="/dev/log" RateLimit.Interval="0" CreatePath="on")
template(name="connrefuse_test" type="string" string="%syslogfacility-text%.%syslogseverity-text% %syslogtag%%msg%\n")
*.* action(type="omfile" file="$out" template="connrefuse_test")
CONF
exec "$here/private-dev.sh" sh -c '
	work=$1; shift
	# The daemon and the marker are the test'"'"'s own tools, not programs
	# under test: no preload (under make check-asan, LD_PRELOAD holds the
	# ASan runtime, in which logger hangs in setlocale).
	env -u LD_PRELOAD rsyslogd -n -f "$work/rsyslog.conf" -i "$work/rsyslogd.pid" &
	rpid=$!
	i=0
	while [ ! -S /dev/log ]; do
		i=$((i + 1))
		[ $i -lt 200 ] || { echo "with-rsyslog.sh: rsyslogd did not open /dev/log" >&2; kill $rpid; exit 1; }
		sleep 0.05
	done
	rc=0
	"$@" || rc=$?
	# A marker through the same socket: once it is in the file, so is
	# everything sent before it.
	env -u LD_PRELOAD logger -u /dev/log -t connrefuse-test-marker "end of test $$" 2>/dev/null ||
		python3 -c "import socket; s=socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.sendto(b\"<14>connrefuse-test-marker: end\", \"/dev/log\")"
	i=0
	while ! grep -q connrefuse-test-marker "$0" 2>/dev/null; do
		i=$((i + 1))
		[ $i -lt 200 ] || { echo "with-rsyslog.sh: rsyslogd wrote nothing" >&2; break; }
		sleep 0.05
	done
	kill $rpid 2>/dev/null; wait $rpid 2>/dev/null || true
	rm -rf "$work"
	exit $rc
' "$out" "$work" "$@"
