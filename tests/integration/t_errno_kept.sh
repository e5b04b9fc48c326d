# errno on success paths: every interposed function, succeeding, leaves
# errno as the program set it, or exactly as the bare libc function does
# (glibc's gethostbyname family itself sets errno to 0 on success). Checked
# with no config, and with rules that log every connect at level "all" and
# delay the passing ones.
. "$(dirname "$0")/lib.sh"
P=$(start_listener)
$HELPERS/errnokeep "$P" > "$T/bare"
cat "$T/bare"
# The bare run: only glibc's own resolver calls touch errno.
expect_eq "$(grep -v ' ok$' "$T/bare" | grep -v '^errno changed' | cut -d' ' -f1 | tr '\n' ' ')" \
	"gethostbyname gethostbyname2 gethostbyname_r " "bare: only the gethostbyname family changes errno"
LD_PRELOAD=$PRELOAD $HELPERS/errnokeep "$P" > "$T/audit"
diff "$T/bare" "$T/audit" || fail "preloaded (no config) differs from bare"
ok "preloaded, no config: errno as bare on all $(grep -c ' ok$' "$T/bare") success paths that keep it, and the rest"
cfg=$(config logged.cfg "version = 1;
log: { syslog = false; file = \"$T/all.log\"; level = \"all\"; rate = 0; };
rules = ( { name = \"slow\"; port = $P; action = \"pass\"; delay_ms = 1; },
          { name = \"seen\"; action = \"log\"; } );")
CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $HELPERS/errnokeep "$P" > "$T/logged"
diff "$T/bare" "$T/logged" || fail "preloaded (rules, level all) differs from bare"
expect_grep "result=connected simulated=no rule=slow action=pass .* dst=127\\.0\\.0\\.1:$P " "$T/all.log" \
	"the delayed, logged connect happened"
ok "preloaded, rules logging everything and delaying: errno as bare on every path"
