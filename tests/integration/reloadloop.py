"""reloadloop.py CLI CONFIG PORT N: N times, a new rule renamed into place
and `connrefuse reload CONFIG`, then at once (no sleep) one connect to
127.0.0.1:PORT, which must follow the new rule: refused under "refuse",
connected under "pass", alternately. Prints how many in a row did."""
import os
import socket
import subprocess
import sys

cli, cfg, port, n = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
env = dict(os.environ)
env.pop("LD_PRELOAD", None)  # the reload command itself need not be ruled
good = 0
for i in range(n):
    action = "refuse" if i % 2 == 0 else "pass"
    with open(cfg + ".new", "w") as f:
        f.write('version = 1; log: { syslog = false; level = "none"; };\n'
                'rules = ( { name = "r"; dst = "127.0.0.1"; port = %d; action = "%s"; } );\n' % (port, action))
    os.rename(cfg + ".new", cfg)
    subprocess.run([cli, "reload", cfg], env=env, check=True)
    s = socket.socket()
    try:
        s.connect(("127.0.0.1", port))
        got = "pass"
    except ConnectionRefusedError:
        got = "refuse"
    s.close()
    if got != action:
        print("attempt %d: rule says %s, the connect saw %s" % (i + 1, action, got))
        break
    good += 1
print(good)
