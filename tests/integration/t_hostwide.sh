# Host-wide preload, proven in a private mount namespace: a private copy of
# /etc holding an ld.so.preload that names the library and the system rules
# file /etc/connrefuse/rules, and a private /dev/log (a real rsyslogd). The
# machine's own /etc is never touched. A broad set of ordinary programs runs
# once without the preload and once with it: each gives the same exit
# status, stdout and stderr, and their real refusals are in syslog. Then: a
# broken rules file (fail-open, one line in syslog, nothing on stderr), and
# a library file that is missing (the loader itself complains, in every
# process).
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "needs root for a private mount namespace"; exit 77; }
command -v rsyslogd > /dev/null || { echo "rsyslogd not installed"; exit 77; }
command -v setpriv > /dev/null || { echo "setpriv (util-linux) not installed"; exit 77; }
skip_under_sanitizers "ld.so.preload cannot put the sanitizer runtime first in every process"
P=$(start_listener)
C=$(closed_port)
R=$(closed_port)
# The library where every user can load it, and the private /etc.
lib=$(public_lib_dir)
cp -a /etc "$T/etc"
rm -f "$T/etc/ld.so.preload"
mkdir -p "$T/etc/connrefuse"
chmod 755 "$T/etc/connrefuse"
printf 'version = 1;\nrules = ( { name = "hostwide"; dst = "127.0.0.1"; port = %s; action = "refuse"; } );\n' "$R" \
	> "$T/etc/connrefuse/rules"
chmod 644 "$T/etc/connrefuse/rules"
mkdir -p "$T/repo"

# The programs: one a line (each line is one sh -c); $P listens, $C is
# closed, $R is the rule's port.
cat > "$T/programs" <<EOF
for i in 1 2 3; do echo "line \$i"; done; printf '%s\n' b a c | sort; exit 3
ls -ld / /usr 2>&1 | awk '{ print \$1, \$NF }'; date -u -d @0; sha256sum /etc/hostname | cut -c1-16; wc -l < /etc/passwd
/usr/bin/python3 -c 'import socket, sys; print(sum(range(10)), sys.version_info[0])'
/usr/bin/python3 -c "import socket; exec('for p, n in (($P, \\'P\\'), ($C, \\'C\\'), ($R, \\'R\\')):\\n try: socket.create_connection((\\'127.0.0.1\\', p)).close(); print(n, \\'connected\\')\\n except OSError as e: print(n, e.errno)')"
perl -e 'use Socket; socket(my \$s, PF_INET, SOCK_STREAM, 0); print connect(\$s, pack_sockaddr_in($C, inet_aton("127.0.0.1"))) ? "connected\n" : "refused: \$!\n"'
curl -sS -o /dev/null -w '%{http_code}\n' http://127.0.0.1:$P/; curl -sS http://127.0.0.1:$C/ 2>&1 | sed "s/$C/C/g"; echo "curl exit \$?"
nc -z 127.0.0.1 $C; echo "nc exit \$?"
git --version | cut -d' ' -f1-2; git -C $T/repo init -q 2>&1; git -C $T/repo status --short; echo "git exit \$?"
man -w ls; man --version | cut -d' ' -f1
apt-get -s check | tail -n 1; apt-cache policy bash | head -n 1
setpriv --reuid=65534 --regid=65534 --clear-groups /bin/mount --version | head -n 1; echo "setuid mount exit \$?"
setpriv --reuid=65534 --regid=65534 --clear-groups /usr/bin/python3 -c 'import os; print(os.getuid())'
$HELPERS/connloop 127.0.0.1 $C 2 | cut -d' ' -f1-2
EOF
# run-all.sh TAG: every program, its output and status in $T/TAG.N.
cat > "$T/run-all.sh" <<EOF
n=0
while IFS= read -r line; do
	n=\$((n + 1))
	(cd "$T" && sh -c "\$line") > "$T/\$1.\$n" 2>&1
	echo "exit=\$?" >> "$T/\$1.\$n"
done < "$T/programs"
EOF
out=$T/syslog.out
"$HERE/with-rsyslog.sh" "$out" sh -c "
	sh $T/run-all.sh bare
	echo '$lib/libconnrefuse.so' > $T/etc/ld.so.preload
	mount --bind $T/etc /etc
	sh $T/run-all.sh preloaded
	# A broken rules file: fail-open, one line in syslog, nothing on stderr.
	echo 'version = 1; rules = ( { colour = \"red\"; } );' > /etc/connrefuse/rules
	sh -c '$PY -c \"print(1)\"' > $T/broken.out 2> $T/broken.err
	# The library file missing: the loader complains in every process.
	mv $lib/libconnrefuse.so $lib/away.so
	sh -c 'echo ran' > $T/missing.out 2> $T/missing.err
	mv $lib/away.so $lib/libconnrefuse.so
	umount /etc
" || fail "with-rsyslog"
n=$(wc -l < "$T/programs")
i=0
while [ $i -lt "$n" ]; do
	i=$((i + 1))
	cmp -s "$T/bare.$i" "$T/preloaded.$i" || { diff "$T/bare.$i" "$T/preloaded.$i"; fail "program $i: $(sed -n ${i}p "$T/programs" | cut -c1-60) differs"; }
	ok "the same under ld.so.preload: $(sed -n ${i}p "$T/programs" | cut -c1-50 | sed "s#$T#T#g; s#$HELPERS#H#g") -> $(head -n 1 "$T/bare.$i" | cut -c1-30)"
done
grep -q "^R 111$" "$T/bare.3" && fail "the rule's port was refused without the preload"
grep -q "^R connected$" "$T/preloaded.3" && fail "the rule's port was not refused under the preload"
# (bare.3 and preloaded.3 are equal: R is a closed port too, so the rule's
# simulated refusal reads like the kernel's.)
cat "$out"
expect_grep "^user\\.warning connrefuse\\[[0-9]+\\]: result=refused simulated=yes rule=hostwide action=refuse pid=[0-9]+ uid=0 comm=python3 dst=127\\.0\\.0\\.1:$R " \
	"$out" "the system rules file is read: its rule's refusal in syslog"
for comm in python3 perl curl nc connloop; do
	expect_grep "^user\\.warning connrefuse\\[[0-9]+\\]: result=refused simulated=no action=pass pid=[0-9]+ uid=0 comm=$comm dst=127\\.0\\.0\\.1:$C " \
		"$out" "audit: $comm's real refusal in syslog"
done
expect_eq "$(cat "$T/broken.out"):$(wc -c < "$T/broken.err")" "1:0" "a broken system rules file: the program runs, nothing on its stderr"
expect_grep "^user\\.err connrefuse\\[[0-9]+\\]: config error: /etc/connrefuse/rules:1: rule 1: unknown key 'colour'" \
	"$out" "a broken system rules file: one config error in syslog"
expect_eq "$(cat "$T/missing.out")" "ran" "the library file missing: programs still run"
expect_grep "ld.so: object '$lib/libconnrefuse.so' from /etc/ld.so.preload cannot be preloaded" "$T/missing.err" \
	"the library file missing: the loader itself complains on stderr (in every process)"
[ ! -e /etc/ld.so.preload ] || grep -qv "$lib" /etc/ld.so.preload || fail "the machine's /etc/ld.so.preload names the test's library"
ok "the machine's own /etc/ld.so.preload was never written"
