"""Inside a private /dev (private-dev.sh): a syslog receiver bound to
/dev/log that never reads, then the refused loop with logging on (syslog,
default rate limit) vs logging off, alternated. Usage: storm.py BUILD PORT TMP"""
import os
import socket
import statistics
import subprocess
import sys

build, port, tmp = sys.argv[1:4]
rx = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
rx.bind("/dev/log")
lib = os.path.join(build, "libconnrefuse.so")
bench = os.path.join(build, "bench", "bench_connect")
on = os.path.join(tmp, "storm-on.cfg")
off = os.path.join(tmp, "storm-off.cfg")
rule = 'rules = ( { name = "r"; port = %s; action = "refuse"; } );\n' % port
with open(on, "w") as f:
    f.write('version = 1;\nlog: { syslog = true; file = "%s/storm.log"; level = "failures"; };\n%s' % (tmp, rule))
with open(off, "w") as f:
    f.write('version = 1;\nlog: { syslog = false; level = "none"; };\n%s' % rule)


def run(cfg):
    env = dict(os.environ, LD_PRELOAD=lib, CONNREFUSE_CONFIG=cfg)
    out = subprocess.run([bench, "loop", "100000", port], env=env, capture_output=True, text=True, check=True)
    return float(out.stdout.split()[-1])


a, b = [], []
for _ in range(5):
    a.append(run(off))
    b.append(run(on))
ma, mb = statistics.median(a), statistics.median(b)
print("  logging off                %9.1f ns  (range %.1f-%.1f)" % (ma, min(a), max(a)))
print("  logging on, receiver stuck %9.1f ns  (range %.1f-%.1f)" % (mb, min(b), max(b)))
print("  ratio on / off: %.3f" % (mb / ma))
dropped = suppressed = 0
for line in open(os.path.join(tmp, "storm.log")):
    if line.startswith("result=suppressed"):
        kv = dict(x.split("=", 1) for x in line.split())
        suppressed += int(kv["count"])
        dropped += int(kv["dropped"])
print("  over the 5 logging runs: %d lines suppressed by the rate limit, %d dropped by the stuck receiver"
      % (suppressed, dropped))
