# connrefuse audit beside the peer tools Debian 12 packages, on the same
# failures: `make compare-audit` (root; not part of make check: it needs
# the peers installed, and what they print is a measurement, not a verdict).
#
# 1. tcpconnect, as libbpf-tools, bcc and bpftrace ship it: each is started
#    and what it prints is shown (on a kernel without kprobes it cannot
#    attach). Tetragon is not packaged in Debian.
# 2. What can attach (tools on the tracepoint sock:inet_sock_set_state, and
#    a bpftrace program on it and on sock:inet_sk_error_report) watches
#    beside `connrefuse audit` while t_audit's oracles fail connects of
#    python3 (blocking) and curl (non-blocking) in a private network
#    namespace; a table then says, failure by failure, what each tool saw:
#    whether it saw it, with whose pid, with which errno.
#
# Tracepoints are found through tracefs: when the machine has none mounted,
# it is mounted in a mount namespace of this script's own, never on the
# host. Usage: sh tests/peers/audit_peers.sh BUILD
set -u
if [ "${CR_PEERS_MNTNS:-}" != 1 ]; then
	[ "$(id -u)" = 0 ] || { echo "compare-audit: needs root (the tools load kernel programs)"; exit 77; }
	for c in unshare nft python3 curl; do
		command -v $c > /dev/null || { echo "compare-audit: $c is not installed"; exit 77; }
	done
	CR_PEERS_MNTNS=1 exec unshare -m --propagation private sh "$0" "$@"
fi
[ -d /sys/kernel/tracing/events/sock ] || mount -t tracefs nodev /sys/kernel/tracing ||
	{ echo "compare-audit: tracefs cannot be mounted"; exit 77; }
CR_BUILD=$(cd "${1:?usage: audit_peers.sh BUILD}" && pwd)
. "$(dirname "$0")/../integration/lib.sh"

echo "kernel $(uname -r); kprobes: $([ -e /sys/kernel/tracing/kprobe_events ] && echo yes || echo 'none (no kprobe_events)')"
echo
echo "== 1. tcpconnect"
# peer_start NAME COMMAND...: started with no input for up to 10 s; what
# it printed, or that it still ran (it attached).
peer_start() {
	name=$1; shift
	command -v "$1" > /dev/null || { echo "$name: not installed"; return; }
	timeout 10 "$@" < /dev/null > "$T/start.out" 2>&1
	rc=$?
	echo "\$ $*   (exit $rc$([ $rc = 124 ] && echo ': it attached and ran until stopped'))"
	sed 's/^/    /' "$T/start.out"
}
peer_start "libbpf-tools tcpconnect (apt-get install libbpf-tools)" tcpconnect
peer_start "bcc tcpconnect-bpfcc (apt-get install bpfcc-tools)" tcpconnect-bpfcc
if [ -r /usr/sbin/tcpconnect.bt ]; then
	peer_start "bpftrace tcpconnect.bt" bpftrace /usr/sbin/tcpconnect.bt
else
	echo "bpftrace tcpconnect.bt: not installed (apt-get install bpftrace)"
fi
echo "Tetragon: not packaged in Debian 12"
echo

echo "== 2. the same failures, side by side"
CLOSED=7400 DROP=7401 HOSTUN=7402 ADMIN=7403 RST=7404 RESET=7405 CANARY=7409 UCLOSED=7410
PORTS=$CLOSED,$DROP,$HOSTUN,$ADMIN,$RST,$RESET,$CANARY
# watch NAME COMMAND...: a watcher writing $T/NAME.out, line by line.
WATCHED=
watch() {
	name=$1; shift
	stdbuf -oL "$@" > "$T/$name.out" 2> "$T/$name.err" &
	echo $! >> "$T/pids"
	WATCHED="$WATCHED $name"
}
printf 'version = 1;\nlog: { syslog = false; rate = 0; };\n' > "$T/audit.cfg"
watch audit "$CLI" audit -c "$T/audit.cfg"
if command -v tcpstates > /dev/null; then watch tcpstates tcpstates -D $PORTS; else echo "tcpstates: not installed (libbpf-tools)"; fi
if command -v tcplife > /dev/null; then watch tcplife tcplife -D $PORTS; else echo "tcplife: not installed (libbpf-tools)"; fi
# What a bpftrace user writes on the same two tracepoints: the state
# changes (with the socket's sk_err, read through BTF) and the errors the
# kernel reports, each with the task current when it fires.
cat > "$T/peer.bt" << EOF
tracepoint:sock:inet_sock_set_state /args->dport >= $CLOSED && args->dport <= $UCLOSED/ {
	printf("state pid=%d comm=%s sk=%p sport=%d dport=%d old=%d new=%d sk_err=%d\n", pid, comm,
		args->skaddr, args->sport, args->dport, args->oldstate, args->newstate,
		((struct sock *)args->skaddr)->sk_err);
}
tracepoint:sock:inet_sk_error_report /args->dport >= $CLOSED && args->dport <= $UCLOSED/ {
	printf("error pid=%d comm=%s sport=%d dport=%d proto=%d error=%d\n", pid, comm,
		args->sport, args->dport, args->protocol, args->error);
}
EOF
if command -v bpftrace > /dev/null; then watch bpftrace bpftrace "$T/peer.bt"; else echo "bpftrace: not installed"; fi

cat > "$T/oracles.nft" << EOF
table inet peers {
	chain out {
		type filter hook output priority 0; policy accept;
$(audit_oracle_rules)
	}
}
EOF
# The oracles, as t_audit makes them, in a network namespace of their own.
cat > "$T/netns.sh" << 'EOF'
set -e
ip link set lo up
sysctl -qw net.ipv4.tcp_syn_retries=1
nft -f "$T/oracles.nft"
"$PY" "$RESETSERVER" $RESET > "$T/resetd.out" &
resetd=$!
echo $resetd > "$T/pid.resetd"
set +e
seen() { # every watcher has shown the canary's refusal
	for w in $WATCHED; do grep -q "[:= ]$CANARY\b" "$T/$w.out" || return 1; done
}
i=0
until seen && grep -q ready "$T/resetd.out"; do
	"$PY" -c 'import socket, sys
try: socket.create_connection(("127.0.0.1", int(sys.argv[1])))
except OSError: pass' $CANARY
	i=$((i + 1))
	[ $i -lt 600 ] || {
		for w in $WATCHED; do grep -q "[:= ]$CANARY\b" "$T/$w.out" || echo "$w did not see a refusal at $CANARY in 30 s"; done
		exit 1
	}
	sleep 0.05
done
python3_tcp() { sh -c 'echo $$ > "$0"; exec "$1" -c "import socket, sys
try:
    s = socket.create_connection((\"127.0.0.1\", int(sys.argv[1])))
    s.recv(1)
except OSError as e: print(e.errno)" "$2"' "$T/pid.python3.$1" "$PY" $1; }
curl_tcp() { sh -c 'echo $$ > "$0"; exec curl -s -o /dev/null "http://127.0.0.1:$1/"' "$T/pid.curl.$1" $1; }
python3_tcp $DROP > /dev/null & d1=$!
curl_tcp $DROP & d2=$!
for port in $CLOSED $HOSTUN $ADMIN $RST $RESET; do
	python3_tcp $port > /dev/null
	curl_tcp $port
done
sh -c 'echo $$ > "$0"; exec "$1" -c "import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.connect((\"127.0.0.1\", int(sys.argv[1])))
s.send(b\"x\")
try: s.recv(1)
except OSError as e: print(e.errno)" "$2"' "$T/pid.python3.$UCLOSED" "$PY" $UCLOSED > /dev/null
wait $d1 $d2
kill $resetd
# A last refusal: once each watcher has shown it, it has handed over what
# came before.
for w in $WATCHED; do grep -c "[:= ]$CANARY\b" "$T/$w.out" > "$T/$w.before"; done
last() {
	for w in $WATCHED; do [ "$(grep -c "[:= ]$CANARY\b" "$T/$w.out")" -gt "$(cat "$T/$w.before")" ] || return 1; done
}
"$PY" -c 'import socket, sys
try: socket.create_connection(("127.0.0.1", int(sys.argv[1])))
except OSError: pass' $CANARY
i=0
until last; do i=$((i + 1)); [ $i -lt 600 ] || { echo "a watcher did not show the last refusal"; exit 1; }; sleep 0.05; done
EOF
RESETSERVER=$(cd "$(dirname "$0")/../integration" && pwd)/resetserver.py
export T PY RESETSERVER WATCHED CLOSED DROP HOSTUN ADMIN RST RESET CANARY UCLOSED
unshare -n sh "$T/netns.sh" || fail "the oracles could not be set up"
for p in $(cat "$T/pids"); do kill -INT "$p" 2> /dev/null; done
wait
for w in $WATCHED; do
	[ -s "$T/$w.err" ] && { echo "($w said on stderr:)"; sed 's/^/    /' "$T/$w.err"; }
done
echo
"$PY" "$(dirname "$0")/audit_peers_table.py" "$T" $CLOSED $DROP $HOSTUN $ADMIN $RST $RESET $UCLOSED
echo
echo "== what each printed about those ports, verbatim"
for w in $WATCHED; do
	echo "-- $w"
	grep -E "[:= ]($CLOSED|$DROP|$HOSTUN|$ADMIN|$RST|$RESET|$UCLOSED)\\b" "$T/$w.out"
done
