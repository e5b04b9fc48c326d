# setuid: a setuid-root copy of a program, run by an unprivileged user with
# LD_PRELOAD and CONNREFUSE_CONFIG set, is unaffected: the loader drops the
# library (secure execution), so nothing is simulated. The same program
# without the setuid bit is refused, so the test can tell the two apart.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "needs root to make a setuid-root copy"; exit 77; }
command -v setpriv >/dev/null || { echo "setpriv (util-linux) not installed"; exit 77; }
skip_under_sanitizers "the sanitizer runtime cannot be preloaded into a setuid program either"
P=$(start_listener)
# A folder the unprivileged user can reach (the checkout may be in root's
# 0700 home), on a file system that honours setuid bits (/tmp may be
# mounted nosuid; if /var/tmp is too, the test says so and skips).
dir=$(mktemp -d /var/tmp/connrefuse-setuid.XXXXXX)
chmod 755 "$dir"
cp "$HELPERS/whoconnects" "$dir/plain"
cp "$HELPERS/whoconnects" "$dir/suid"
cp "$PRELOAD" "$dir/libconnrefuse.so"
printf 'version = 1;\nlog: { syslog = false; };\nrules = ( { name = "all"; port = %s; action = "refuse"; } );\n' "$P" > "$dir/rules.cfg"
chmod 755 "$dir/plain" "$dir/libconnrefuse.so"
chmod 644 "$dir/rules.cfg"
chown root:root "$dir/suid"
chmod 4755 "$dir/suid"
as_nobody() { setpriv --reuid=65534 --regid=65534 --clear-groups env CONNREFUSE_CONFIG="$dir/rules.cfg" LD_PRELOAD="$dir/libconnrefuse.so" "$@"; }
plain=$(as_nobody "$dir/plain" "$P")
suid=$(as_nobody "$dir/suid" "$P")
rm -rf "$dir"
echo "plain: $plain"
echo "setuid: $suid"
expect_eq "$plain" "euid=65534 preloaded=yes result=ECONNREFUSED" "the plain copy, run by nobody, is preloaded and refused"
case $suid in
euid=65534*) echo "this file system ignores setuid bits"; exit 77 ;;
esac
expect_eq "$suid" "euid=0 preloaded=no result=connected" "the setuid copy runs as root without the library and connects"
