"""listener.py PORTFILE [ADDR]: a loopback TCP server for the tests.

Listens on ADDR (default 127.0.0.1) port 0, writes the port to PORTFILE once
it listens, and answers every connection with a tiny HTTP 200, until killed.
"""
import socket
import sys

portfile = sys.argv[1]
addr = sys.argv[2] if len(sys.argv) > 2 else "127.0.0.1"
family = socket.AF_INET6 if ":" in addr else socket.AF_INET
srv = socket.socket(family, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind((addr, 0))
srv.listen(4096)
with open(portfile + ".tmp", "w") as f:
    f.write(str(srv.getsockname()[1]))
import os
os.rename(portfile + ".tmp", portfile)
while True:
    conn, _ = srv.accept()
    try:
        conn.settimeout(0.5)
        try:
            conn.recv(4096)
        except OSError:
            pass
        conn.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n")
    except OSError:
        pass
    finally:
        conn.close()
