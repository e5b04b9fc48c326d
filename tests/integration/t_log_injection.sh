# Log injection: a unix path and a host name holding newlines (the path),
# quotes, backslashes, '=', spaces and invalid UTF-8 each produce exactly one
# line, escaped; an independent logfmt parser (Python, here) reads the
# lines back to the very bytes the program used. The host name comes from a
# private hosts file (private mount namespace) that the program resolves.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || { echo "needs root for a private mount namespace"; exit 77; }
C=$(closed_port)
printf '127.0.0.1 localhost\n127.0.0.1 we"ird\\host=x\377\376.test\n' > "$T/hosts"
cfg=$(config rules.cfg "version = 1;
log: { syslog = false; file = \"$T/file.log\"; rate = 0; };
rules = ( { name = \"sockets\"; path = \"$T/*\"; action = \"refuse\"; } );")
cat > "$T/client.py" <<'PY'
import os, socket, sys
d = sys.argv[1]
path = d.encode() + b'/a "quoted"\\ name=x\nresult=connected evil=\x01\xff\xfe.sock'
host = b'we"ird\\host=x\xff\xfe.test'
port = int(sys.argv[2])
s = socket.socket(socket.AF_UNIX)
try:
    s.connect(path)
except OSError as e:
    print("unix", type(e).__name__)
ai = socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM)
s = socket.socket()
try:
    s.connect(ai[0][4])
except OSError as e:
    print("host", type(e).__name__)
open(d + "/expected", "wb").write(path + b"\0" + host)
PY
unshare -m --propagation private sh -c "
	mount --bind $T/hosts /etc/hosts
	CONNREFUSE_CONFIG=$cfg LD_PRELOAD=$PRELOAD $PY $T/client.py $T $C > $T/out
" || fail "the client failed"
cat "$T/out" "$T/file.log"
expect_eq "$(cat "$T/out" | tr '\n' ' ')" "unix ConnectionRefusedError host ConnectionRefusedError " \
	"the unix connect is refused by the rule, the host's by the kernel"
expect_eq "$(wc -l < "$T/file.log")" 2 "two events, two lines"
cat > "$T/parse.py" <<'PY'
import re, sys
def logfmt(line):
    out, i = [], 0
    while i < len(line):
        j = line.index(b"=", i)
        key, i = line[i:j], j + 1
        if line[i:i+1] == b'"':
            i += 1; v = bytearray()
            while line[i:i+1] != b'"':
                c = line[i:i+1]
                if c == b"\\":
                    n = line[i+1:i+2]
                    if n == b"x": v += bytes([int(line[i+2:i+4], 16)]); i += 4; continue
                    v += {b"n": b"\n", b"r": b"\r", b"t": b"\t"}.get(n, n); i += 2; continue
                v += c; i += 1
            i += 1
        else:
            j = line.find(b" ", i); j = len(line) if j < 0 else j
            v, i = line[i:j], j
        out.append((key.decode(), bytes(v)))
        if line[i:i+1] == b" ": i += 1
    return out
path, host = open(sys.argv[2], "rb").read().split(b"\0")
lines = open(sys.argv[1], "rb").read().split(b"\n")
assert lines[-1] == b"", "the file ends with a newline"
ev = [dict(logfmt(l)) for l in lines[:-1]]
keys = [[k for k, _ in logfmt(l)] for l in lines[:-1]]
assert ev[0]["dst"] == path, (ev[0]["dst"], path)
assert ev[0]["result"] == b"refused" and ev[0]["simulated"] == b"yes" and ev[0]["rule"] == b"sockets"
assert keys[0][:12] == ["time", "machine", "result", "simulated", "rule", "action", "pid", "uid", "comm", "dst", "proto", "errno"], keys[0]
assert ev[1]["host"] == host, (ev[1]["host"], host)
assert ev[1]["result"] == b"refused" and ev[1]["simulated"] == b"no"
assert keys[1][:12] == ["time", "machine", "result", "simulated", "action", "pid", "uid", "comm", "dst", "host", "proto", "errno"], keys[1]
print("read back: dst and host byte for byte, keys in order")
PY
$PY "$T/parse.py" "$T/file.log" "$T/expected" > "$T/parsed" 2>&1 || { cat "$T/parsed"; fail "the lines do not read back"; }
cat "$T/parsed"
ok "each line reads back to the exact path and host bytes, keys in the spec's order"

# The same through log.format = "json": one valid JSON object a line, read
# back by Python's json module to the same text (a byte that is not UTF-8
# is written as the text \xNN: a JSON string cannot hold it).
jcfg=$(config json.cfg "version = 1;
log: { syslog = false; file = \"$T/json.log\"; rate = 0; format = \"json\"; };
rules = ( { name = \"sockets\"; path = \"$T/*\"; action = \"refuse\"; } );")
unshare -m --propagation private sh -c "
	mount --bind $T/hosts /etc/hosts
	CONNREFUSE_CONFIG=$jcfg LD_PRELOAD=$PRELOAD $PY $T/client.py $T $C > $T/out
" || fail "the client failed (json)"
cat "$T/json.log"
expect_eq "$(wc -l < "$T/json.log")" 2 "json: two events, two lines"
$PY -c '
import json, sys
path, host = open(sys.argv[2], "rb").read().split(b"\0")
ev = [json.loads(l) for l in open(sys.argv[1], "rb").read().split(b"\n")[:-1]]
text = lambda b: b.decode("utf-8", "backslashreplace")
assert ev[0]["dst"] == text(path), (ev[0]["dst"], text(path))
assert ev[1]["host"] == text(host), (ev[1]["host"], text(host))
assert list(ev[0])[:12] == ["time", "machine", "result", "simulated", "rule", "action", "pid", "uid", "comm", "dst", "proto", "errno"]
assert ev[0]["code"] == 111 and ev[1]["simulated"] == "no"
' "$T/json.log" "$T/expected" || fail "json: the lines do not read back"
ok "json: each line is one JSON object that reads back to the path and host, keys in order"
