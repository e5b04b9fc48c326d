# The first hour with connrefuse: the mistakes new users make, and what they
# are told. Each row: what was done, the exit status expected, and a piece
# of the message (stdout and stderr together) that must be there; values are
# read back as written. So that none of these comes back.
. "$(dirname "$0")/lib.sh"
top=$HERE/../..
P=$(start_listener)

# row NAME STATUS FRAGMENT COMMAND...: runs the command; its status and one
# piece of what it printed.
row() {
	name=$1 want_rc=$2 want=$3
	shift 3
	"$@" > "$T/row.out" 2>&1
	rc=$?
	[ "$rc" = "$want_rc" ] || { cat "$T/row.out"; fail "$name: exit $rc, expected $want_rc"; }
	grep -qF -- "$want" "$T/row.out" || { cat "$T/row.out"; fail "$name: no '$want' in what it printed"; }
	ok "$name: exit $rc, '$want'"
}
# cfg NAME TEXT: a config file with that text.
cfg() { printf '%b\n' "$2" > "$T/$1"; echo "$T/$1"; }

# Values read back as written: 64-bit integers are not cut to 32 bits.
row "seed = 12345678901" 0 "seed = 12345678901;" "$CLI" check "$(cfg seed.cfg 'version = 1;\nseed = 12345678901;')"
row "first = 4294967299" 0 "first = 4294967299;" "$CLI" check \
	"$(cfg first.cfg 'version = 1;\nrules = ( { action = "refuse"; first = 4294967299; } );')"
row "seed beyond 64 bits" 1 "the number 99999999999999999999 is out of range" "$CLI" check \
	"$(cfg big.cfg 'version = 1;\nseed = 99999999999999999999;')"
row "port = 4294967376 (80 in 32 bits)" 1 "port 4294967376 is out of range (0-65535)" "$CLI" check \
	"$(cfg port.cfg 'version = 1;\nrules = ( { action = "refuse"; port = 4294967376; } );')"
for f in "$top"/examples/*.cfg "$top"/examples/fleet/rules.cfg; do
	"$CLI" check "$f" | tail -n +2 > "$T/once"
	"$CLI" check "$f" > "$T/printed.cfg" && "$CLI" check "$T/printed.cfg" | tail -n +2 > "$T/twice"
	cmp -s "$T/once" "$T/twice" || { diff "$T/once" "$T/twice"; fail "check of $(basename "$f") does not read back as printed"; }
done
ok "check of every example prints what, read again, prints the same"

# libconfig's own messages, translated.
row "mixed types in [ ]" 1 "'port' mixes numbers and strings in [ ... ]" "$CLI" check \
	"$(cfg mixed.cfg 'version = 1;\nrules = ( { port = [80, "8000-8010"]; action = "refuse"; } );')"
row "a comma after the last rule" 1 "a ',' after the last element of a list" "$CLI" check \
	"$(cfg comma.cfg 'version = 1;\nrules = (\n  { action = "pass"; },\n);')"
row "an unquoted string" 1 "refuse is not quoted: strings are written in double quotes" "$CLI" check \
	"$(cfg unquoted.cfg 'version = 1;\nrules = ( { action = refuse; } );')"
row "a missing comma between rules" 1 "a ',' is missing between this group and the one before" "$CLI" check \
	"$(cfg groups.cfg 'version = 1;\nrules = (\n  { action = "pass"; }\n  { action = "refuse"; }\n);')"

# Names, errnos.
row "a rule named #2" 1 "starts with '#', as the names of unnamed rules do" "$CLI" check \
	"$(cfg hash.cfg 'version = 1;\nrules = ( { name = "#2"; action = "pass"; } );')"
row "an errno with a typo" 1 'errno "ECONNREFUSE" is not an errno name: did you mean "ECONNREFUSED"?' "$CLI" check \
	"$(cfg typo.cfg 'version = 1;\nrules = ( { action = "fail"; errno = "ECONNREFUSE"; } );')"
row "an errno a rule cannot use" 1 'errno "ENOMEM" cannot be simulated; use one of' "$CLI" check \
	"$(cfg enomem.cfg 'version = 1;\nrules = ( { action = "fail"; errno = "ENOMEM"; } );')"
row "a config error says which file to check" 0 "check it with: connrefuse check $T/typo.cfg" \
	env CONNREFUSE_CONFIG="$T/typo.cfg" LD_PRELOAD="$PRELOAD" true

# run: its own errors exit 125, with run's usage only.
row "run with nothing" 125 "usage: connrefuse run" "$CLI" run
row "run --" 125 "no PROGRAM given" "$CLI" run --
row "run --refuse with port 99999" 125 "--refuse 127.0.0.1:99999: expected DST[:PORT]" "$CLI" run --refuse 127.0.0.1:99999 -- true
row "run --fail without an errno" 125 "--fail 127.0.0.1:1: expected ERRNO=DST[:PORT]" "$CLI" run --fail 127.0.0.1:1 -- true
row "run --refuse with host bits" 125 "--refuse 10.1.2.3/8: dst \"10.1.2.3/8\" has host bits set" "$CLI" run --refuse 10.1.2.3/8 -- true
"$CLI" run --bogus -- true > "$T/out" 2>&1
! grep -q "connrefuse check FILE" "$T/out" || fail "a run usage error prints the usage of every command"
ok "a usage error prints its command's usage only"

# No syslog receiver: said once, by run, with the way to see the lines.
if $PY -c 'import socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect("/dev/log")' 2>/dev/null; then
	echo "note: this machine has a syslog receiver: the warning is not expected"
else
	row "run with no syslog receiver" 1 "no syslog receiver at /dev/log: log lines are lost; --log-stderr" \
		"$CLI" run --refuse "127.0.0.1:$P" -- nc -z 127.0.0.1 "$P"
	"$CLI" run --refuse "127.0.0.1:$P" --log-stderr -- nc -z 127.0.0.1 "$P" > "$T/out" 2>&1
	! grep -q "no syslog receiver" "$T/out" || fail "the warning comes with --log-stderr too"
	ok "with --log-stderr, no warning (the lines are on stderr)"
fi

# A relative CONNREFUSE_CONFIG is joined once, at start-up, with the folder
# the program started in: its own chdir changes nothing, reload included.
mkdir "$T/app"
printf 'version = 1;\nlog: { syslog = false; };\nrules = ( { dst = "127.0.0.1"; port = %s; action = "refuse"; } );\n' "$P" > "$T/app/rel.cfg"
(cd "$T/app" && CONNREFUSE_CONFIG=rel.cfg LD_PRELOAD=$PRELOAD $PY -c "
import os, socket, time
os.chdir('/')
for i in range(2):
    try:
        socket.create_connection(('127.0.0.1', $P)); print('connected')
    except OSError as e:
        print(e.errno)
    time.sleep(1.1)
") > "$T/out" 2> "$T/err"
expect_eq "$(tr '\n' ' ' < "$T/out")" "111 111 " "relative CONNREFUSE_CONFIG: still in force after the program's chdir('/')"
expect_eq "$(cat "$T/err")" "" "relative CONNREFUSE_CONFIG: no 'cannot read' at the reload look"
(cd "$T/app" && "$CLI" run -c rel.cfg -- sh -c "cd / && nc -z 127.0.0.1 $P")
expect_eq "$?" 1 "run -c with a relative path: the program refused from another folder"

# match tells the truth.
spec=$(cfg spec.cfg 'version = 1;\nrules = (\n { name = "docker"; path = "/run/docker.sock"; action = "fail"; errno = "EACCES"; },\n { name = "db"; dst = "10.0.0.0/8"; port = 5432; action = "refuse"; },\n { name = "api"; dst = "*.example.com"; action = "refuse"; },\n { name = "a-rule-with-a-long-name"; dst = "127.0.0.1"; action = "refuse"; window = { start_s = 5.0; duration_s = 10.0; }; },\n { name = "later"; dst = "127.0.0.2"; action = "refuse"; after = 2; }\n);')
row "match a unix path" 0 "destination: /run/docker.sock proto=unix" "$CLI" match "$spec" /run/docker.sock
row "match @abstract" 0 "destination: @abstract proto=unix" "$CLI" match "$spec" @abstract
row "match a host name" 0 "the address rules are not asked; to ask them, give the address: connrefuse match FILE ADDR:5432 --host db.internal" \
	"$CLI" match "$spec" db.internal:5432
row "match a host name: the name rules asked" 0 "decided by rule api" "$CLI" match "$spec" www.example.com:443
row "match ::1 with no port" 0 "::1 has no port: port 0 is asked" "$CLI" match "$spec" ::1
row "match ::1:443" 0 "if 443 is the port, write [::1]:443" "$CLI" match "$spec" ::1:443
row "match a window rule" 0 "not in its window: opens at 5 s" "$CLI" match "$spec" 127.0.0.1:80
row "match --at in the window" 0 "decided by rule a-rule-with-a-long-name" "$CLI" match "$spec" 127.0.0.1:80 --at 6
row "match an after rule" 0 "it fires once 2 attempts have gone by (this is attempt 1)" "$CLI" match "$spec" 127.0.0.2:80
row "match --attempt 3" 0 "decided by rule later" "$CLI" match "$spec" 127.0.0.2:80 --attempt 3
"$CLI" match "$spec" 127.0.0.1:80 | grep '^  rule' | awk '{print index($0, " line ")}' | sort -u > "$T/cols"
expect_eq "$(wc -l < "$T/cols")" 1 "match: the columns line up with a 23-character rule name"

# decode and help.
row "decode --json with no code" 2 "decode needs at least one CODE" "$CLI" decode --json
"$CLI" decode --json > "$T/out" 2>/dev/null
expect_eq "$(cat "$T/out")" "" "decode --json with no code prints no JSON"
row "decode a near miss" 1 "did you mean ECONNREFUSED?" "$CLI" decode ECONNREFUSE
row "--help for no command" 2 "--help foo: unknown command" "$CLI" --help foo
row "--help run points to what is installed" 0 "see man connrefuse" "$CLI" --help run

# report: the dry run apart, and the lines it could not read.
printf '%s\n' 'result=connected simulated=no rule=d action=refuse dry_run=yes pid=1 comm=a dst=10.0.0.1:5 proto=tcp' \
	'result=connected simulated=no rule=d action=refuse dry_run=yes pid=1 comm=a dst=10.0.0.1:5 proto=tcp' \
	'not a log line' > "$T/dry.log"
row "report: a dry run" 0 "d would have refused 2 times (really: 0 failed, 2 connected)" "$CLI" report "$T/dry.log"
row "report: lines it could not read" 0 "lines that are not connrefuse events: 1" "$CLI" report "$T/dry.log"

# The docs a user has.
! grep -q '\.\./shared' "$top/README.md" || fail "the README points outside the repository"
ok "the README points to nothing outside the repository"
! grep -q 'ships local3' "$top/examples/fleet/rules.cfg" || fail "examples/fleet/rules.cfg says rsyslog ships local3"
ok "examples/fleet/rules.cfg agrees with rsyslog-forward.conf"

# make install PREFIX=... after a build with another prefix: what holds the
# prefix is built again (in a build folder of the test's own).
if [ -z "${CR_SANITIZE:-}" ]; then
	make -s -C "$top" BUILD="$T/b" "$T/b/connrefuse" > /dev/null 2>&1 || fail "a build in $T/b failed"
	make -s -C "$top" BUILD="$T/b" PREFIX=/opt/cr-test "$T/b/connrefuse" > /dev/null 2>&1 || fail "the PREFIX build failed"
	grep -q /opt/cr-test/lib/connrefuse "$T/b/connrefuse" || fail "the command still has the old prefix built in"
	rm -rf "$T/b" # (its objects hold the messages' formats: not log lines)
	ok "a build for another PREFIX rebuilds the command with it"
fi
