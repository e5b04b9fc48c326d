# Start-up order: a library whose constructor connects before connrefuse's
# constructor has run (the loader initialises the program's own libraries
# first, as LD_DEBUG shows) gets the real connect() and the rules all the
# same; without the preload it gets the kernel's answers.
. "$(dirname "$0")/lib.sh"
Q=$(start_listener)
P=$(closed_port)
export EARLY_PORTS="$P $Q"
$HELPERS/earlymain > "$T/bare"
expect_eq "$(cat "$T/bare" | tr '\n' ' ')" "early $P: ECONNREFUSED early $Q: connected main " "bare: the kernel's answers"
LD_PRELOAD=$PRELOAD $HELPERS/earlymain > "$T/audit"
diff "$T/bare" "$T/audit" || fail "preloaded without rules differs from bare"
ok "preloaded, no config: the same answers"
cfg=$(config early.cfg "version = 1;
log: { syslog = false; file = \"$T/early.log\"; };
rules = ( { name = \"early\"; port = $Q; action = \"fail\"; errno = \"ENETUNREACH\"; } );")
CONNREFUSE_CONFIG=$cfg LD_DEBUG=files LD_PRELOAD=$PRELOAD $HELPERS/earlymain > "$T/ruled" 2> "$T/ld-debug"
order=$(sed -n 's/.*calling init: .*\/\(libearly\.so\|libconnrefuse\.so\)$/\1/p' "$T/ld-debug" | tr '\n' ' ')
expect_eq "$order" "libearly.so libconnrefuse.so " "libearly's constructor runs before connrefuse's"
expect_eq "$(cat "$T/ruled" | tr '\n' ' ')" "early $P: ECONNREFUSED early $Q: ENETUNREACH main " \
	"with a rule: the early connect is decided by it"
expect_grep "result=failed simulated=yes rule=early action=fail pid=[0-9]+ uid=[0-9]+ comm=earlymain dst=127\\.0\\.0\\.1:$Q " \
	"$T/early.log" "the simulated failure is logged"
expect_grep "result=refused simulated=no action=pass pid=[0-9]+ uid=[0-9]+ comm=earlymain dst=127\\.0\\.0\\.1:$P " \
	"$T/early.log" "the real refusal is logged"
