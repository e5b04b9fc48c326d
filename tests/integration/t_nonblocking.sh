# A simulated refusal on a non-blocking socket is the kernel's own: the same
# observable sequence (EINPROGRESS, poll readiness with ERR, SO_ERROR =
# ECONNREFUSED then 0, getpeername, a retry on the same fd) as a connect to
# a closed port, for IPv4, IPv6, a v4-mapped address, and a v6-only socket.
. "$(dirname "$0")/lib.sh"
NB=$HELPERS/nbconnect
L=$(start_listener)
L6=$(start_listener ::1)
C=$(closed_port)
cfg=$(config rules.cfg "version = 1;
log: { syslog = false; };
rules = ( { name = \"all\"; port = $L; action = \"refuse\"; },
          { name = \"all6\"; port = $L6; action = \"refuse\"; } );")

for case in "127.0.0.1 $L" "::1 $L6" "::ffff:127.0.0.1 $L" "::ffff:127.0.0.1 $L v6only"; do
	set -- $case
	addr=$1 live=$2 extra=${3:-x}
	CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $NB "$addr" "$live" "$extra" retry "$live" > "$T/sim" 2>&1
	# The same program against a closed port, bare: the kernel's answer.
	$NB "$addr" "$C" "$extra" retry "$live" > "$T/real" 2>&1
	diff "$T/real" "$T/sim" > "$T/diff" || { cat "$T/diff"; fail "$case: simulated differs from real"; }
	ok "$case: simulated == real: $(tr '\n' ';' < "$T/sim")"
done

# The acceptance figures, checked directly as well.
CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $NB 127.0.0.1 "$L" > "$T/out"
expect_grep '^connect: -1 EINPROGRESS$' "$T/out" "EINPROGRESS"
expect_grep '^poll:.* OUT ERR' "$T/out" "poll POLLOUT|POLLERR"
[ "$(grep so_error "$T/out" | tr '\n' ' ')" = "so_error: ECONNREFUSED so_error: 0 " ] || fail "SO_ERROR sequence"
ok "SO_ERROR ECONNREFUSED then 0"
