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

# No syslog receiver: said once, by the process that loses a line, with the
# way to see the lines (t_log_loss: in a private /dev, on any machine).
if $PY -c 'import socket; s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM); s.connect("/dev/log")' 2>/dev/null; then
	echo "note: this machine has a syslog receiver: the warning is not expected"
else
	row "run with no syslog receiver" 1 "log lines of this process are lost: no syslog receiver at /dev/log (ENOENT)" \
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

# The second first hour (the first-hour issue, again): each of these passed
# silently, or said too little.
row "run --refuse ::1:443 (a port read as an address)" 125 "if 443 is the port, write [::1]:443" \
	"$CLI" run --refuse '::1:443' -- true
"$CLI" run --refuse '[::1:443]' -- true > "$T/row.out" 2>&1
expect_eq "$?:$(cat "$T/row.out")" "0:" "run --refuse [::1:443] (the address alone, on purpose): exit 0, nothing said"
src=$(cfg keep.cfg '# my comments\nversion = 1;')
row "compile X -o X (the source over itself)" 2 "is the source itself: its text would be lost" "$CLI" compile "$src" -o "$src"
expect_eq "$(head -n 1 "$src")" "# my comments" "compile X -o X: the source is kept, comments and all"
"$CLI" compile "$src" -o "$T/keep.compiled" > /dev/null
row "compile X.compiled -o X.compiled (an upgrade in place)" 0 "compiled into" "$CLI" compile "$T/keep.compiled" -o "$T/keep.compiled"
row "report on a folder" 1 "is a folder: give a log file" "$CLI" report /tmp
row "report --json --prometheus" 2 "choose one" "$CLI" report --json --prometheus /dev/null
row "connrefuse chek" 2 "did you mean 'check'?" "$CLI" chek
row "decode -- -2" 0 "EAI_NONAME -2" "$CLI" decode -- -2
row "decode 0" 0 "no error (success)" "$CLI" decode 0
row "decode 0x8007274D (an HRESULT)" 0 "HRESULT of Win32 error 10061" "$CLI" decode 0x8007274D
row "decode 0x8007274D names the error" 0 "WSAECONNREFUSED 10061" "$CLI" decode 0x8007274D
row "decode ''" 1 "an empty CODE: give a number or a name" "$CLI" decode ''
row "--help names the man pages in the source tree" 0 "man -l doc/connrefuse.1" "$CLI" --help
row "dst with a port in it" 1 'the port has a key of its own: dst = "127.0.0.1"; port = 5432;' "$CLI" check \
	"$(cfg dstport.cfg 'version = 1;\nrules = ( { dst = "127.0.0.1:5432"; action = "refuse"; } );')"
row "dst [::1]:443" 1 'dst = "::1"; port = 443;' "$CLI" check \
	"$(cfg dstport6.cfg 'version = 1;\nrules = ( { dst = "[::1]:443"; action = "refuse"; } );')"
row "errno in lower case" 1 'errno names are written in capitals: errno = "ETIMEDOUT";' "$CLI" check \
	"$(cfg lower.cfg 'version = 1;\nrules = ( { action = "fail"; errno = "etimedout"; } );')"
row "rules = [ { } ]" 1 "a list of groups is written in ( ... )" "$CLI" check \
	"$(cfg brackets.cfg 'version = 1;\nrules = [ { action = "refuse"; } ];')"
row "dst = 127.0.0.1 unquoted" 1 '127.0.0.1 is not quoted: addresses are strings' "$CLI" check \
	"$(cfg unquoted.cfg 'version = 1;\nrules = ( { dst = 127.0.0.1; action = "refuse"; } );')"
row "single quotes" 1 "not single ones" "$CLI" check \
	"$(cfg single.cfg "version = 1;\\nrules = ( { dst = '127.0.0.1'; action = \"refuse\"; } );")"
row "JSON style" 1 "this is libconfig, not JSON" "$CLI" check \
	"$(cfg json.cfg 'version = 1;\nrules = ( { "dst": "127.0.0.1", "action": "refuse" } );')"
row "prot" 1 "did you mean 'proto'?" "$CLI" check "$(cfg prot.cfg 'version = 1;\nrules = ( { prot = "tcp"; action = "refuse"; } );')"
row "probability = 30" 1 "for 30%, write probability = 0.3;" "$CLI" check \
	"$(cfg pct.cfg 'version = 1;\nrules = ( { action = "refuse"; probability = 30; } );')"
row "--fail-dns NXDOMAIN=a.test" 125 "for that, write EAI_NONAME" "$CLI" run --fail-dns NXDOMAIN=a.test -- true
row "match FILE ::1 443" 2 "the port goes with the address: [::1]:443" "$CLI" match "$top/examples/retry.cfg" ::1 443
row "match DST FILE (swapped)" 2 "FILE comes first: connrefuse match" "$CLI" match 127.0.0.1:80 "$top/examples/retry.cfg"
$PY -c "
print('version = 1;\nrules = (')
print(',\n'.join('{ name = \"r%d\"; dst = \"10.%d.%d.0/24\"; action = \"refuse\"; }' % (i, i // 256, i % 256) for i in range(20000)))
print(');')" > "$T/big.cfg"
"$CLI" match "$T/big.cfg" 127.0.0.1:80 > "$T/miss.out"
expect_eq "$(wc -l < "$T/miss.out")" 3 "match on 20,000 rules, a miss: three lines, not 20,002"
expect_grep "none of the 20000 rules matches" "$T/miss.out" "and it says how many were asked"
"$CLI" match "$T/big.cfg" 10.78.3.4:80 > "$T/hit.out"
expect_grep "^  rule r19971 +line 19974 matches" "$T/hit.out" "a hit past line 9,999: the columns hold"
row "a rule that can never fire" 0 "rule \"pg\" can never decide: rule \"lo\" (line 2) before it matches every connect" "$CLI" check \
	"$(cfg shadow.cfg 'version = 1;\nrules = ( { name = "lo"; dst = "127.0.0.0/8"; action = "refuse"; },\n { name = "pg"; dst = "127.0.0.1"; port = 5432; action = "refuse"; } );')"
row "a narrower rule first" 0 'name = "pg"' "$CLI" check \
	"$(cfg narrow.cfg 'version = 1;\nrules = ( { name = "pg"; dst = "127.0.0.1"; port = 5432; action = "refuse"; },\n { name = "lo"; dst = "127.0.0.0/8"; action = "refuse"; } );')"
expect_no_grep "never decide" "$T/row.out" "a narrower rule first: no warning"
# report with no file, its standard input a terminal (script(1) gives it one;
# the terminal's end of input ends it).
if command -v script > /dev/null; then
	script -qec "\"$CLI\" report" /dev/null < /dev/null > "$T/tty.out" 2>&1
	expect_grep "reading log lines from the terminal \\(end with Ctrl-D\\)" "$T/tty.out" "report on a terminal says what it waits for"
fi
# The README's placeholders are marked as such (in capitals), not names a
# reader might take for files of this project.
! grep -nE '\./(my-service|client)\b|[^-]blocklist\.cfg' "$top/README.md" ||
	fail "README: a placeholder a reader may take for a file of this project"
ok "README: placeholders in capitals (YOUR-SERVICE, YOUR-CLIENT)"
# A log.file no line could reach: said before anything runs, not lost line by line.
lost=$(cfg lost.cfg 'version = 1;\nlog: { syslog = false; file = "/nonexistent-dir/audit.log"; };')
row "check: log.file in a folder that does not exist" 1 'log.file "/nonexistent-dir/audit.log": its folder does not exist: create it' \
	"$CLI" check "$lost"
row "run: the same, and the program is not run" 125 "no line could be written there (nothing was run)" \
	"$CLI" run -c "$lost" -- sh -c 'echo the program ran'
expect_no_grep "the program ran" "$T/row.out" "run: the program did not run"
chmod 755 "$T"
mkdir -p "$T/rootonly" && chmod 700 "$T/rootonly"
ro=$T/ro.cfg
printf 'version = 1;\nlog: { syslog = false; file = "%s/rootonly/audit.log"; };\n' "$T" > "$ro" && chmod 644 "$ro"
if [ "$(id -u)" = 0 ] && command -v setpriv > /dev/null; then
	# (A copy of the command nobody can run: the checkout may be in a 0700 home.)
	pub=$(public_lib_dir)
	cp "$CLI" "$pub/connrefuse" && chmod 755 "$pub/connrefuse"
	row "check as nobody: a log.file only root may write" 1 "this user cannot write it" \
		setpriv --reuid=65534 --regid=65534 --clear-groups "$pub/connrefuse" check "$ro"
fi
