import os
import socket
import threading

import pytest


@pytest.fixture(scope="module")
def server():
    """A real local server, one port for the whole module (so that a rule left
    behind by one test would be seen by the next): says hello. Its port."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(16)

    def serve():
        while True:
            try:
                c, _ = srv.accept()
            except OSError:
                return
            c.sendall(b"hello\n")
            c.close()

    threading.Thread(target=serve, daemon=True).start()
    yield srv.getsockname()[1]
    srv.close()
