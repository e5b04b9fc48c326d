# connect() with bad arguments gets exactly the real connect()'s answer
# (value and errno), with a rule that would refuse everything; and a
# successful connect leaves errno as it was.
. "$(dirname "$0")/lib.sh"
P=$(start_listener)
P2=$(start_listener)
cfg=$(config all.cfg "version = 1;
log: { syslog = false; };
rules = ( { name = \"the-other-listener\"; port = $P2; action = \"pass\"; },
          { name = \"everything\"; action = \"refuse\"; } );")
$HELPERS/badargs "$P" "$P2" > "$T/bare"
CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $HELPERS/badargs "$P" "$P2" > "$T/preloaded"
cat "$T/bare"
# A 108-byte unix path without NUL is a valid address: the rule refuses it
# (as it should), so it is compared without rules below.
grep -v '^unix 108' "$T/bare" > "$T/bare.bad"
grep -v '^unix 108' "$T/preloaded" > "$T/preloaded.bad"
diff "$T/bare.bad" "$T/preloaded.bad" || fail "preloaded answers differ from bare"
ok "every bad-argument case answers as bare connect() does, under a refuse-everything rule ($(wc -l < "$T/bare.bad") cases)"
LD_PRELOAD=$PRELOAD $HELPERS/badargs "$P" "$P2" > "$T/audit"
diff "$T/bare" "$T/audit" || fail "preloaded (no rules) answers differ from bare"
ok "every case answers as bare connect() does, with no rules ($(wc -l < "$T/bare") cases)"
expect_grep '^unix 108 bytes, no NUL +-1 ECONNREFUSED$' "$T/preloaded" "the valid 108-byte unix path is refused by the rule"
LD_PRELOAD=$PRELOAD $HELPERS/badargs "$P" errno > "$T/errno"
expect_eq "$(cat "$T/errno")" "success: 0 errno EXDEV" "errno unchanged by a successful connect"
lvl=$(config all-level.cfg 'version = 1;
log: { syslog = false; file = "/dev/null"; level = "all"; };')
CONNREFUSE_CONFIG=$lvl LD_PRELOAD=$PRELOAD $HELPERS/badargs "$P" errno > "$T/errno"
expect_eq "$(cat "$T/errno")" "success: 0 errno EXDEV" "errno unchanged by a successful, logged connect"
