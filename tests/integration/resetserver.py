"""resetserver.py PORT: on 127.0.0.1:PORT, each connection accepted is
reset (closed with SO_LINGER 0) before its first byte; the oracle of
ECONNRESET for connrefuse audit (t_audit, tests/peers). Prints "ready"
once it listens."""
import socket
import struct
import sys

s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
print("ready", flush=True)
while True:
    c, _ = s.accept()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    c.close()
