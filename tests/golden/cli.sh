#!/bin/sh
# cli.sh BUILD: the exact output and exit status of the command on a fixed
# set of inputs (check on every example and on every bad config the tests
# use, match, decode, help and usage errors), as one transcript. The
# golden gate: t_golden diffs it against cli.expected, so that a change in
# what users see is made on purpose (make golden-update), never by accident.
set -u
build=$(cd "$1" && pwd)
top=$(cd "$(dirname "$0")/../.." && pwd)
CLI=$build/connrefuse
work=$(mktemp -d /tmp/connrefuse-golden.XXXXXX)
trap 'rm -rf "$work"' EXIT
cd "$top" || exit 1

# say CMD...: the command line, its output (stderr marked), its exit status.
say() {
	echo "\$ $*" | sed "s#$work#W#g; s#$build/##g"
	"$@" > "$work/out" 2> "$work/err"
	rc=$?
	sed "s#$work#W#g" "$work/out"
	sed "s#$work#W#g; s/^/stderr: /" "$work/err"
	echo "[exit $rc]"
}

awk -v dir="$work" '/^--- /{ f = dir "/" $2; next } { print > f }' tests/golden/configs.txt

for f in examples/*.cfg examples/fleet/rules.cfg; do say "$CLI" check "$f"; done
for f in $(sed -n 's/^--- //p' tests/golden/configs.txt); do say "$CLI" check "$work/$f"; done
say "$CLI" check /nonexistent/connrefuse.cfg

for d in 10.1.2.3:5432 10.1.2.3:80 127.0.0.1:8080 '[::1]:8085' ::1 192.0.2.7:22 api.example.com:443 \
	 /var/run/docker.sock @abstract 203.0.113.9:6379 '[::ffff:10.0.0.1]:5432'; do
	say "$CLI" match "$work/spec-example.cfg" "$d"
done
say "$CLI" match "$work/spec-example.cfg" 10.9.9.9:5432 --proto udp
say "$CLI" match "$work/spec-example.cfg" 10.9.9.9:443 --host api.example.com
say "$CLI" match "$work/valid-forms.cfg" /run/x.sock --process /usr/bin/curl
say "$CLI" match "$work/valid-forms.cfg" '[fd00::1]:8050' --proto tcp
say "$CLI" match "$work/valid-forms.cfg" 1.2.3.4:1 --host www.example.com
for f in examples/*.cfg; do say "$CLI" match "$f" 127.0.0.1:5432; done
say "$CLI" match "$work/spec-example.cfg" nonsense:99999
say "$CLI" match "$work/spec-example.cfg" 1.2.3.4:1 --proto sctp
say "$CLI" match "$work/spec-example.cfg"
for n in db.internal x.svc.cluster.local API.example.com. www.example.com v4only.example other.org; do
	say "$CLI" match "$work/resolve-forms.cfg" --resolve "$n"
done
say "$CLI" match "$work/resolve-forms.cfg" --resolve x.svc.cluster.local --process curl --attempt 4
say "$CLI" match "$work/resolve-forms.cfg" 10.0.0.1:443
for d in 10.0.0.5:443 10.0.0.6:443 10.0.0.7:443 10.0.0.8:443 10.0.0.9:443; do
	say "$CLI" match "$work/shape-forms.cfg" "$d"
done
say "$CLI" match "$work/resolve-forms.cfg" --resolve a --host b
say "$CLI" match "$work/resolve-forms.cfg" 1.2.3.4:1 --resolve a

for c in 111 ECONNREFUSED 10061 0x274D WSAECONNREFUSED econnrefused 110 ETIMEDOUT 113 101 104 13 1 \
	 11 4 2 10060 10065 11001 11031 10004 0 -1 9999 EFOO 0x6f -2 -3 -4 -5 -11 -12 -13 EAI_NONAME eai_again \
	 HOST_NOT_FOUND TRY_AGAIN NO_RECOVERY NO_DATA NO_ADDRESS 11002 11004 EAI_NONAM; do
	say "$CLI" decode "$c"
done
say "$CLI" decode --json 111 10060 EFOO
say "$CLI" decode --json -2 TRY_AGAIN
say "$CLI" decode
say "$CLI" decode --json

say "$CLI" --version
say "$CLI" --help
for c in run check match decode report foo; do say "$CLI" --help "$c"; done
for c in check match decode report; do say "$CLI" "$c" --help; done
say "$CLI"
say "$CLI" frobnicate
say "$CLI" check
say "$CLI" check a b
say "$CLI" run
say "$CLI" run --
say "$CLI" run --refuse 127.0.0.1:99999 -- true
say "$CLI" run --fail 127.0.0.1:1 -- true
say "$CLI" run --bogus -- true
say "$CLI" run -c /nonexistent/connrefuse.cfg -- true
say "$CLI" run -c "$work/port.cfg" -- true
say "$CLI" run -- /nonexistent/program
say "$CLI" report --bogus a b
say "$CLI" report /nonexistent/log
printf '%s\n' 'result=refused simulated=yes rule=r action=refuse pid=1 comm=a dst=1.2.3.4:5 proto=tcp errno=ECONNREFUSED code=111' \
	'Nov 24 17:54:39 host connrefuse[7]: result=refused simulated=no action=pass pid=7 comm=b dst=[::1]:80 proto=tcp errno=ECONNREFUSED code=111' \
	'result=connected simulated=no action=pass pid=2 comm=c dst=/run/x.sock proto=unix' \
	'result=suppressed count=5 dropped=1 pid=3 comm=a' 'garbage' > "$work/log"
say "$CLI" report "$work/log"
say "$CLI" report --json "$work/log"
