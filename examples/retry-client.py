"""retry-client.py HOST PORT: connects, retrying refusals with a short backoff."""
import socket
import sys
import time

host, port = sys.argv[1], int(sys.argv[2])
for attempt in range(1, 11):
    try:
        with socket.create_connection((host, port), timeout=5):
            print(f"attempt {attempt}: connected")
            sys.exit(0)
    except ConnectionRefusedError:
        print(f"attempt {attempt}: refused, retrying")
        time.sleep(0.05 * attempt)
print("gave up")
sys.exit(1)
