"""A small client with retry logic: the code under test."""
import socket


def fetch(port, tries=5):
    """The server's greeting and the attempt that got it."""
    for attempt in range(1, tries + 1):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                return s.recv(64), attempt
        except ConnectionRefusedError:
            continue
    raise ConnectionRefusedError("gave up after %d attempts" % tries)
