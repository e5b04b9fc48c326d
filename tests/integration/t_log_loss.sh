# No line lost silently (issue 25, part 4):
# 1. every log.file line, and every JSON line, starts with time= (RFC 3339,
#    UTC, microseconds) and machine= (the host name); syslog and a logfmt
#    stderr line do not; report reads both keys;
# 2. a relative log.file is joined with the folder the program started in
#    (under run: the folder run started in), and check prints it;
# 3. a line no sink takes (no /dev/log: a private /dev without one) is
#    counted and said once per process: on stderr in a program the user
#    started (the README's audit one-liner, run --seccomp's supervisor),
#    in syslog only host-wide (/etc/ld.so.preload, a private /etc);
#    a summary no sink takes keeps its counts for the next one.
. "$(dirname "$0")/lib.sh"
C=$(closed_port)
machine=$(uname -n)
stamp='^time=[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z machine='$machine' '
cat > "$T/refuse3.py" <<'PY'
import os, socket, sys
port = int(sys.argv[1])
def refused():
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port)); print("connected")
    except OSError as e:
        print(e.errno)
    s.close()
refused()
if len(sys.argv) > 2:
    os.chdir(sys.argv[2])
refused()
refused()
PY

# 1. The stamp.
printf 'version = 1;\nlog: { syslog = false; stderr = true; file = "%s/plain.log"; };\n' "$T" > "$T/plain.cfg"
before=$(date -u +%s)
CONNREFUSE_CONFIG=$T/plain.cfg LD_PRELOAD=$PRELOAD $PY "$T/refuse3.py" "$C" > "$T/out" 2> "$T/plain.err"
after=$(date -u +%s)
expect_eq "$(grep -cE "${stamp}result=refused simulated=no action=pass pid=[0-9]+ uid=[0-9]+ comm=python3 dst=127\.0\.0\.1:$C " "$T/plain.log")" 3 \
	"log.file: each line starts with time= and machine=, then the event's keys"
t=$(sed -n '1s/^time=\([^ ]*\) .*/\1/p' "$T/plain.log")
secs=$(date -u -d "$t" +%s)
[ "$secs" -ge "$before" ] && [ "$secs" -le "$after" ] || fail "time=$t is not between $before and $after"
ok "time= is now, in UTC ($t)"
expect_grep '^connrefuse: result=refused simulated=no ' "$T/plain.err" "stderr in logfmt: no stamp (read by a person, now)"
printf 'version = 1;\nlog: { syslog = false; stderr = true; format = "json"; file = "%s/json.log"; };\n' "$T" > "$T/json.cfg"
CONNREFUSE_CONFIG=$T/json.cfg LD_PRELOAD=$PRELOAD $PY "$T/refuse3.py" "$C" > "$T/out" 2> "$T/json.err"
$PY - "$T/json.log" "$T/json.err" "$machine" <<'PY' > "$T/json.check" || { cat "$T/json.check"; fail "JSON lines"; }
import json, re, sys
machine = sys.argv[3]
for path, prefix in ((sys.argv[1], ""), (sys.argv[2], "connrefuse: ")):
    lines = [l for l in open(path) if "result" in l]
    assert len(lines) == 3, (path, lines)
    for l in lines:
        o = json.loads(l[len(prefix):])
        keys = list(o)
        assert keys[:3] == ["time", "machine", "result"], keys
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", o["time"]), o["time"]
        assert o["machine"] == machine, o["machine"]
print("ok")
PY
ok "JSON, in log.file and on stderr: time and machine first, then the event's keys"
"$CLI" report "$T/plain.log" > "$T/report.out"
expect_grep "^  $machine +0 +3 +0$" "$T/report.out" "report: the machine of a log.file line is its machine="
expect_grep "^  from [0-9-]+T[0-9:.]+Z to [0-9-]+T[0-9:.]+Z$" "$T/report.out" "report: the first and last time="
"$CLI" report "$T/json.log" > "$T/report.json.out"
expect_grep "^  $machine +0 +3 +0$" "$T/report.json.out" "report: the same from JSON lines"

# 2. A relative log.file: one file for one run, wherever its programs go.
mkdir -p "$T/start/sub"
printf 'version = 1;\nlog: { syslog = false; file = "rel.log"; };\n' > "$T/start/rel.cfg"
(cd "$T/start" && "$CLI" check rel.cfg) > "$T/check.out" 2>&1
expect_grep "^# log.file \"rel.log\" is $T/start/rel.log: a relative log.file is joined with the folder" "$T/check.out" \
	"check prints the absolute path a relative log.file resolves to"
(cd "$T/start" && "$CLI" run -c rel.cfg -- $PY "$T/refuse3.py" "$C" sub) > "$T/out" 2>&1
expect_eq "$(tr '\n' ' ' < "$T/out")" "111 111 111 " "run: the program is refused, before and after its chdir"
expect_eq "$(grep -c 'result=refused' "$T/start/rel.log")" 3 "run: the lines before and after the program's chdir are in one file"
[ ! -e "$T/start/sub/rel.log" ] || fail "a line went to the folder the program moved to"
ok "none in the folder the program moved to"
rm -f "$T/start/rel.log"
(cd "$T/start" && "$CLI" run -c rel.cfg -- sh -c "nc -z 127.0.0.1 $C; cd sub && nc -z 127.0.0.1 $C") > /dev/null 2>&1
expect_eq "$(grep -c 'result=refused.* comm=nc ' "$T/start/rel.log")" 2 \
	"run: a program started in another folder writes to the same file"
[ ! -e "$T/start/sub/rel.log" ] || fail "a process started in sub/ wrote sub/rel.log"
rm -f "$T/start/rel.log"
(cd "$T/start" && CONNREFUSE_CONFIG=rel.cfg LD_PRELOAD=$PRELOAD $PY "$T/refuse3.py" "$C" sub) > /dev/null 2>&1
expect_eq "$(grep -c 'result=refused' "$T/start/rel.log")" 3 "plain LD_PRELOAD: joined with the folder the process started in"

# 3. Lines no sink takes: a private /dev with no /dev/log.
if [ "$(id -u)" != 0 ]; then
	echo "note: not root: no private mount namespace, the rest is left out"
	exit 0
fi
have_seccomp=no
"$CLI" run --seccomp -- true > /dev/null 2>&1 && have_seccomp=yes
printf 'version = 1;\nlog: { syslog = false; file = "%s/later/x.log"; };\n' "$T" > "$T/later.cfg"
cat > "$T/later.py" <<'PY'
import os, socket, sys, time
port, folder = int(sys.argv[1]), sys.argv[2]
def refused():
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
    except OSError:
        pass
    s.close()
refused()
# The next second: the rate limit's window turns, and the summary it
# writes then cannot be delivered either (the folder is not there yet).
t = int(time.monotonic())
while int(time.monotonic()) == t:
    time.sleep(0.01)
refused()
os.mkdir(folder)
PY
curl_ok=no
have_curl && curl_ok=yes
cat > "$T/nodevlog.sh" <<EOF
[ ! -e /dev/log ] || { echo "a /dev/log in the private /dev"; exit 1; }
cd "$T"
if [ $curl_ok = yes ]; then
	LD_PRELOAD=$PRELOAD curl -sS http://127.0.0.1:$C/ > "$T/curl.out" 2> "$T/curl.err"
	echo "curl exit \$?" >> "$T/curl.out"
fi
LD_PRELOAD=$PRELOAD $PY "$T/refuse3.py" $C > "$T/py.out" 2> "$T/py.err"
CONNREFUSE_CONFIG=$T/later.cfg LD_PRELOAD=$PRELOAD $PY "$T/later.py" $C "$T/later" 2> "$T/later.err"
if [ $have_seccomp = yes ]; then
	"$CLI" run --seccomp -- sh -c "nc -z 127.0.0.1 $C; nc -z 127.0.0.1 $C" > /dev/null 2> "$T/seccomp.err"
fi
exit 0
EOF
"$HERE/private-dev.sh" sh "$T/nodevlog.sh" || fail "private /dev"
notice='^connrefuse: log lines of this process are lost: no syslog receiver at /dev/log \(ENOENT\); they are counted \(dropped= in the next summary line that gets through\); to see them: connrefuse run --log-stderr'
if [ $curl_ok = yes ]; then
	golden_note "$T/curl.err"
	echo "--- the README's audit one-liner with no /dev/log:"
	cat "$T/curl.err"
	expect_eq "$(grep -cE "$notice" "$T/curl.err")" 1 "README one-liner, no /dev/log: the user is told on stderr, once"
	expect_grep '^curl: \(7\) ' "$T/curl.err" "and curl's own error follows"
fi
expect_eq "$(tr '\n' ' ' < "$T/py.out")" "111 111 111 " "three refusals lost"
expect_eq "$(grep -cE "$notice" "$T/py.err")" 1 "three lines lost: said once per process"
expect_eq "$(grep -c . "$T/py.err")" 1 "nothing else on stderr"
golden_note "$T/later/x.log"
expect_grep "${stamp}result=suppressed count=0 dropped=2 " "$T/later/x.log" \
	"a summary no sink took kept its count: both lost lines are in the next one that got through"
expect_grep '^connrefuse: log lines of this process are lost: log.file "[^"]*/later/x.log" cannot be written \(ENOENT\)' \
	"$T/later.err" "a log.file that cannot be opened: said on stderr"
if [ $have_seccomp = yes ]; then
	expect_eq "$(grep -cE "$notice" "$T/seccomp.err")" 1 "run --seccomp: the supervisor says it once for the run"
else
	echo "note: seccomp user notification unavailable here"
fi

# Host-wide (/etc/ld.so.preload in a private /etc): never on the programs'
# stderr; in syslog when there is one.
command -v rsyslogd > /dev/null || { echo "note: no rsyslogd: the host-wide part is left out"; exit 0; }
[ -z "${CR_SANITIZE:-}" ] || { echo "note: ld.so.preload cannot put the sanitizer runtime first"; exit 0; }
lib=$(public_lib_dir)
cp -a /etc "$T/etc"
echo "$lib/libconnrefuse.so" > "$T/etc/ld.so.preload"
cat > "$T/hostwide.sh" <<EOF
mount --bind "$T/etc" /etc
env -u LD_PRELOAD nc -z 127.0.0.1 $C 2> "$T/hw-nolog.err"
mkdir -p /etc/connrefuse
printf 'version = 1;\nlog: { file = "/nonexistent-dir/x.log"; };\n' > /etc/connrefuse/rules
env -u LD_PRELOAD nc -z 127.0.0.1 $C 2> "$T/hw-file.err"
env -u LD_PRELOAD nc -z 127.0.0.1 $C 2>> "$T/hw-file.err"
umount /etc
EOF
# First with no syslog receiver at all, then through rsyslogd.
"$HERE/private-dev.sh" sh -c "mount --bind '$T/etc' /etc && env -u LD_PRELOAD sh -c 'nc -z 127.0.0.1 $C' 2> '$T/hw-dark.err'; umount /etc" ||
	fail "private /etc, no syslog"
expect_eq "$(cat "$T/hw-dark.err")" "" "host-wide, no syslog receiver: nothing on the program's stderr"
"$HERE/with-rsyslog.sh" "$T/syslog.out" sh "$T/hostwide.sh" || fail "with-rsyslog"
expect_eq "$(cat "$T/hw-nolog.err" "$T/hw-file.err")" "" "host-wide: nothing on the programs' stderr"
expect_grep '^user\.warning connrefuse\[[0-9]+\]: result=refused simulated=no action=pass ' "$T/syslog.out" \
	"host-wide: the line in syslog, without time= (the header has it)"
expect_eq "$(grep -c 'log lines of this process are lost: log.file "/nonexistent-dir/x.log" cannot be written (ENOENT); .*see the rules file' "$T/syslog.out")" 2 \
	"host-wide, a log.file that cannot be written: said in syslog, once per process (two processes)"
[ ! -e /etc/ld.so.preload ] || grep -qv "$lib" /etc/ld.so.preload || fail "the machine's /etc/ld.so.preload names the test's library"
ok "the machine's own /etc was left alone"
