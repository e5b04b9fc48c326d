# fail with each errno a kernel reports later reaches a non-blocking program
# as the kernel would deliver it: EINPROGRESS, readiness with POLLERR, then
# SO_ERROR = that errno (once), or the same errno from a second connect().
# Blocking programs get it from connect(). Errnos the kernel reports at once
# come at once. Each attempt is logged once.
. "$(dirname "$0")/lib.sh"
NB=$HELPERS/nbconnect
L=$(start_listener)
L6=$(start_listener ::1)
for e in ETIMEDOUT EHOSTUNREACH ENETUNREACH ECONNRESET ECONNABORTED EHOSTDOWN ENETDOWN ECONNREFUSED; do
	cfg=$(config "$e.cfg" "version = 1;
log: { syslog = false; file = \"$T/$e.log\"; };
rules = ( { name = \"f\"; port = [$L, $L6]; action = \"fail\"; errno = \"$e\"; } );")
	for addr in "127.0.0.1 $L" "::1 $L6"; do
		set -- $addr
		CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $NB "$1" "$2" > "$T/out"
		got=$(grep -E '^(connect|poll|so_error)' "$T/out" | tr '\n' ';')
		case "$got" in
		"connect: -1 EINPROGRESS;poll:"*" ERR"*";so_error: $e;so_error: 0;") ok "$e [$1]: $got" ;;
		*) fail "$e [$1]: $got" ;;
		esac
		CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $NB "$1" "$2" again > "$T/out"
		expect_grep "^connect again: -1 $e\$" "$T/out" "$e [$1]: a second connect() gives $e"
	done
	out=$(CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $PY -c "
import socket, sys
try:
    socket.create_connection(('127.0.0.1', $L)); print('connected')
except OSError as e:
    print(e.errno)")
	expect_eq "$out" "$($PY -c "import errno; print(errno.$e)")" "$e: a blocking connect() fails with it"
	expect_eq "$(grep -c "^${STAMP}result=.* errno=$e " "$T/$e.log")" 5 "$e: five attempts, five log lines (none twice)"
done
# Errnos that a kernel reports from connect() itself come at once.
for e in EACCES EPERM EADDRNOTAVAIL EAGAIN ENOENT; do
	cfg=$(config "$e.cfg" "version = 1; log: { syslog = false; };
rules = ( { name = \"f\"; port = $L; action = \"fail\"; errno = \"$e\"; } );")
	CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $NB 127.0.0.1 "$L" > "$T/out"
	expect_grep "^connect: -1 $e\$" "$T/out" "$e: non-blocking connect() fails at once"
done
