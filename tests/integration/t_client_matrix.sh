# The client matrix: each real client, over IPv4 and IPv6, shows the same
# exit status and error text under a simulated refusal as against a closed
# port. They learn the error in different ways: connect()'s return (python3
# blocking, java), poll then SO_ERROR (curl, nc, python3 with a timeout,
# asyncio, node, java with a timeout), a second connect() (perl). The same
# again under `run --seccomp`, where the supervisor, not the library, makes
# the refusal.
. "$(dirname "$0")/lib.sh"
P4=$(start_listener 127.0.0.1)
P6=$(start_listener ::1)
C4=$(closed_port)
C6=$($PY -c 'import socket; s=socket.socket(socket.AF_INET6); s.bind(("::1", 0)); print(s.getsockname()[1])')
cfg=$(config rules.cfg "version = 1;
log: { syslog = false; };
rules = ( { name = \"matrix\"; port = [$P4, $P6]; action = \"refuse\"; } );")

seccomp=""
if "$CLI" run --seccomp -- true 2>/dev/null; then
	seccomp="$CLI run --seccomp -c $cfg --"
else
	echo "note: seccomp user notification unavailable: the --seccomp column is skipped"
fi

# $WRAP, when set, is the command each client runs under.
WRAP=
pyclient() { # MODE HOST PORT
	$WRAP $PY - "$@" <<'PY'
import asyncio, socket, sys
mode, host, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
try:
    if mode == "blocking":
        socket.create_connection((host, port)).close()
    elif mode == "timeout":
        socket.create_connection((host, port), timeout=3).close()
    else:
        async def main():
            _, w = await asyncio.open_connection(host, port)
            w.close()
        asyncio.run(main())
    print("connected")
except OSError as e:
    print(type(e).__name__, e.errno, e.strerror)
    sys.exit(3)
PY
}
client() { # NAME HOST PORT
	case $1 in
	curl) h=$2; case $h in *:*) h="[$h]" ;; esac; $WRAP curl -sS -o /dev/null "http://$h:$3/" 2>&1 ;;
	python3-blocking) pyclient blocking "$2" "$3" ;;
	python3-timeout) pyclient timeout "$2" "$3" ;;
	python3-asyncio) pyclient asyncio "$2" "$3" ;;
	nc) $WRAP nc -v -z "$2" "$3" 2>&1 ;;
	perl) $WRAP perl -MIO::Socket::IP -e 'IO::Socket::IP->new(PeerHost => $ARGV[0], PeerPort => $ARGV[1], Timeout => 3) or die "connect: $@\n"; print "connected\n"' "$2" "$3" 2>&1 ;;
	node) $WRAP node -e 'const s = require("net").connect(+process.argv[2], process.argv[1]);
		s.on("error", e => { console.log(e.message); process.exit(3); });
		s.on("connect", () => { console.log("connected"); process.exit(0); });' "$2" "$3" 2>&1 ;;
	java) $WRAP java -cp "$T" Client "$2" "$3" 2>&1 ;;
	java-timeout) $WRAP java -cp "$T" Client "$2" "$3" timeout 2>&1 ;;
	esac
}
clients="python3-blocking python3-timeout python3-asyncio nc perl"
! have_curl || clients="curl $clients"
if [ -n "${CR_SANITIZE:-}" ]; then
	echo "note: node and java are not run under the sanitizers (their runtimes and ASan's clash)"
elif command -v node >/dev/null; then
	clients="$clients node"
else
	echo "note: node not installed, skipped"
fi
if [ -z "${CR_SANITIZE:-}" ] && command -v javac >/dev/null && javac -d "$T" "$HERE/Client.java" 2>/dev/null; then
	clients="$clients java java-timeout"
else
	echo "note: no Java compiler, java skipped"
fi
for c in $clients; do
	for fam in 4 6; do
		if [ $fam = 4 ]; then host=127.0.0.1 live=$P4 closed=$C4; else host=::1 live=$P6 closed=$C6; fi
		real=$(client "$c" "$host" "$closed"; echo "exit $?")
		sim=$(CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD client "$c" "$host" "$live"; echo "exit $?")
		# The port numbers and curl's timing differ by nature; nothing else may.
		norm() { sed -e "s/\\b$live\\b/PORT/g; s/\\b$closed\\b/PORT/g; s/after [0-9]* ms/after N ms/"; }
		real=$(printf '%s' "$real" | norm)
		sim=$(printf '%s' "$sim" | norm)
		[ "$real" = "$sim" ] || fail "$c IPv$fam: simulated [$sim] differs from real [$real]"
		case $real in *"exit 0") fail "$c IPv$fam: the closed port was reached?" ;; esac
		ok "$c IPv$fam: $(printf '%s' "$sim" | tr '\n' ' ')"
		[ -n "$seccomp" ] || continue
		sim=$(WRAP=$seccomp client "$c" "$host" "$live"; echo "exit $?")
		sim=$(printf '%s' "$sim" | norm)
		[ "$real" = "$sim" ] || fail "$c IPv$fam under --seccomp: simulated [$sim] differs from real [$real]"
		ok "$c IPv$fam under --seccomp: the same"
	done
	out=$(client "$c" 127.0.0.1 "$P4"; echo "exit $?")
	case $out in *"exit 0") ok "$c reaches the live port without the library" ;; *) fail "$c: $out" ;; esac
done
