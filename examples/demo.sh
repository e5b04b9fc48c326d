#!/bin/sh
# make demo: a retry test on a bundled example. A loopback server runs; the
# client connects under examples/retry.cfg, is refused three times, then gets
# through. The log lines go to stderr here (--log-stderr).
set -eu
build=$1
here=$(cd "$(dirname "$0")" && pwd)
cli=$build/connrefuse
work=$(mktemp -d /tmp/connrefuse-demo.XXXXXX)
python3 -c '
import socket, sys, time
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(16)
open(sys.argv[1] + ".tmp", "w").write(str(s.getsockname()[1]))
import os; os.rename(sys.argv[1] + ".tmp", sys.argv[1])
while True:
    c, _ = s.accept(); c.close()
' "$work/port" &
server=$!
trap 'kill $server 2>/dev/null; rm -rf "$work"' EXIT
i=0
while [ ! -s "$work/port" ] && [ $i -lt 200 ]; do i=$((i + 1)); sleep 0.05; done
port=$(cat "$work/port")

echo "== connrefuse check examples/retry.cfg"
"$cli" check "$here/retry.cfg"
echo
echo "== connrefuse run -c examples/retry.cfg --log-stderr -- python3 examples/retry-client.py 127.0.0.1 $port"
"$cli" run -c "$here/retry.cfg" --log-stderr -- python3 "$here/retry-client.py" 127.0.0.1 "$port"
echo
echo "== connrefuse decode 10061"
"$cli" decode 10061
