"""make bench: every figure side by side in one run, A/B alternated (the
machines are noisy), printed as a median with its range, and as ratios.

Usage: python3 tests/bench/run.py BUILD
"""
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BUILD = os.path.abspath(sys.argv[1])
HERE = os.path.dirname(os.path.abspath(__file__))
LIB = os.path.join(BUILD, "libconnrefuse.so")
BENCH = os.path.join(BUILD, "bench", "bench_connect")
ROUNDS = 11
PASS_ROUNDS = 21  # the pass-through differences are smaller than the noise of 11
TMP = tempfile.mkdtemp(prefix="connrefuse-bench.")
results = {}


def run(cmd, env=None):
    e = dict(os.environ)
    e.pop("LD_PRELOAD", None)
    e.pop("CONNREFUSE_CONFIG", None)
    if env:
        e.update(env)
    out = subprocess.run(cmd, env=e, check=True, capture_output=True, text=True).stdout
    return float(out.strip().splitlines()[-1])


def fmt(xs, unit="ns"):
    return "%9.1f %s  (range %.1f-%.1f)" % (statistics.median(xs), unit, min(xs), max(xs))


def abn(label, runs, rounds=ROUNDS, unit="ns"):
    """Runs each (name, cmd, env) of runs once a round, in turn; prints each
    median with its range, and the ratio of each to the first; returns the
    medians."""
    times = [[] for _ in runs]
    for _ in range(rounds):
        for t, (_, cmd, env) in zip(times, runs):
            t.append(run(cmd, env))
    abn.times = times
    print(label)
    for i, (t, (name, _, _)) in enumerate(zip(times, runs)):
        print("  %-28s %s" % (name, fmt(t, unit)))
    base = times[0]
    for t, (name, _, _) in list(zip(times, runs))[1:]:
        ratios = sorted(y / x for x, y in zip(base, t))
        print("  ratio %s / %s: %.3f (per-round: median %.3f, range %.3f-%.3f)"
              % (name, runs[0][0], statistics.median(t) / statistics.median(base), statistics.median(ratios),
                 ratios[0], ratios[-1]))
    return [statistics.median(t) for t in times]


def ab(label, cmd_a, env_a, cmd_b, env_b, name_a, name_b, rounds=ROUNDS, unit="ns"):
    """Alternates A and B; prints both and the ratio B/A."""
    a, b = abn(label, [(name_a, cmd_a, env_a), (name_b, cmd_b, env_b)], rounds, unit)
    return a, b, b / a


def config(name, text):
    path = os.path.join(TMP, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def nonmatching_rules(n):
    lines = ['{ name = "r%d"; dst = "10.%d.%d.%d"; port = 5432; action = "refuse"; }'
             % (i, (i >> 16) & 255, (i >> 8) & 255, i & 255) for i in range(n)]
    return 'version = 1;\nlog: { syslog = false; level = "none"; };\nrules = (\n%s\n);\n' % ",\n".join(lines)


def blocklist(n):
    """n rules of a blocklist: prefixes and addresses in 10/8 and fd00::/16,
    every 100th bound to a process pattern (none matching /bin/true), every
    1,000th counting attempts (state a reload carries over)."""
    out = ['version = 1;\nlog: { syslog = false; level = "none"; };\nrules = (']
    for i in range(n):
        if i % 4 == 3:
            dst = "fd00:%x:%x::/48" % ((i >> 16) & 0xffff, i & 0xffff)
        elif i % 2:
            dst = "10.%d.%d.0/24" % ((i >> 16) & 255, (i >> 8) & 255)
        else:
            dst = "10.%d.%d.%d" % ((i >> 16) & 255, (i >> 8) & 255, i & 255)
        extra = ' process = "worker-%d";' % (i % 50) if i % 100 == 7 else ""
        extra += " first = 3;" if i % 1000 == 11 else ""
        out.append('{ name = "b%d"; dst = "%s";%s action = "refuse"; },' % (i, dst, extra))
    out[-1] = out[-1].rstrip(",")
    return "\n".join(out) + "\n);\n"


def compile_rules(cli, text_path, out):
    start = time.time()
    subprocess.run([cli, "compile", text_path, "-o", out], check=True, capture_output=True)
    return time.time() - start


def compiled_rows(cli, port):
    print("\n== compiled rules: compiling; a process's start-up; a script of 100 programs; a reload under load")
    empty = config("empty.cfg", 'version = 1;\nlog: { syslog = false; level = "none"; };\n')
    big = {}
    for n in (100000, 1000000):
        text = config("block-%d.cfg" % n, blocklist(n))
        big[n] = text + ".compiled"
        secs = compile_rules(cli, text, big[n])
        size = os.path.getsize(big[n])
        print("  compile %9d rules: %.2f s (text %.1f MiB); compiled %.1f MiB, %.0f bytes a rule"
              % (n, secs, os.path.getsize(text) / 2**20, size / 2**20, size / n))
        results["compile_s_%d" % n] = secs
        results["compiled_bytes_%d" % n] = size
        os.unlink(text)
    spawn = [os.path.join(BUILD, "bench", "spawn"), "200", "/bin/true"]
    pre = lambda cfg: {"LD_PRELOAD": LIB, "CONNREFUSE_CONFIG": cfg}
    t = abn("/bin/true, mean of 200 runs a round (us): bare; preloaded with an empty config, 100,000 and\n"
            "1,000,000 compiled rules:",
            [("bare", spawn, None), ("empty config", spawn, pre(empty)),
             ("100,000 compiled", spawn, pre(big[100000])), ("1,000,000 compiled", spawn, pre(big[1000000]))],
            unit="us")
    print("  added to a process's start-up over the empty config: %+.3f ms (100,000), %+.3f ms (1,000,000)"
          % ((t[2] - t[1]) / 1000, (t[3] - t[1]) / 1000))
    results["start_added_ms_100k"] = (t[2] - t[1]) / 1000
    results["start_added_ms_1m"] = (t[3] - t[1]) / 1000
    rss = {}
    for name, env in (("empty", pre(empty)), ("100k", pre(big[100000])), ("1m", pre(big[1000000]))):
        e = dict(os.environ)
        e.update(env)
        out = subprocess.run([spawn[0], "--rss", "20", "/bin/true"], env=e, capture_output=True, text=True,
                             check=True).stdout.split()
        rss[name] = int(out[1])
    print("  peak RSS of /bin/true: %d KiB (empty config), %d KiB (100,000 compiled: %+d KiB), %d KiB "
          "(1,000,000: %+d KiB)" % (rss["empty"], rss["100k"], rss["100k"] - rss["empty"], rss["1m"],
                                     rss["1m"] - rss["empty"]))
    results["start_added_rss_kb_100k"] = rss["100k"] - rss["empty"]
    script = [os.path.join(BUILD, "bench", "spawn"), "1", "sh", "-c",
              "i=0; while [ $i -lt 100 ]; do /bin/true; i=$((i+1)); done"]
    _, _, r = ab("a shell script that runs 100 short programs, all preloaded (us):", script, pre(empty), script,
                 pre(big[100000]), "empty config", "100,000 compiled", unit="us")
    results["script_ratio"] = r

    # A reload under load: the program connects 100 times a second; the
    # compiled file is replaced (a new one renamed over it) by one that
    # also refuses the listener's port.
    new_text = config("block-new.cfg", blocklist(100000).replace(
        "rules = (", 'rules = (\n{ name = "now-refused"; port = %s; action = "refuse"; },' % port, 1))
    worst, delays, reloading, quiet = [], [], [], []
    live = os.path.join(TMP, "live.compiled")
    flag = os.path.join(TMP, "watching")

    def watch(swap):
        """3.5 s of connects; after 1 s, the new file renamed over the live
        one (swap) or nothing (the same run's noise, for comparison)."""
        shutil.copy(big[100000], live + ".new")
        os.rename(live + ".new", live)
        compile_rules(cli, new_text, live + ".next")
        if os.path.exists(flag):
            os.unlink(flag)
        e = dict(os.environ)
        e.update(pre(live))
        proc = subprocess.Popen([os.path.join(BUILD, "bench", "reload_watch"), port, "3.5", flag], env=e,
                                stdout=subprocess.PIPE, text=True)
        while not os.path.exists(flag):
            time.sleep(0.01)
        time.sleep(1.0)  # a second of connects on the old rules
        swapped = time.time()
        if swap:
            # As compile does (and the README asks of a replacement by
            # hand): the old file keeps a name, so that no process frees
            # its blocks inside the connect that reloads.
            if os.path.exists(live + ".previous"):
                os.unlink(live + ".previous")
            os.link(live, live + ".previous")
            os.rename(live + ".next", live)
        out = proc.communicate()[0].split()
        return int(out[0]) / 1000, float(out[2]) - swapped if float(out[2]) else float("inf"), int(out[3]) / 1000

    for _ in range(5):
        w, d, r = watch(True)
        worst.append(w)
        delays.append(d)
        reloading.append(r)
        quiet.append(watch(False)[0])
    print("  a reload of 100,000 compiled rules while connecting 100 times a second (5 runs, alternated with 5\n"
          "  runs that replace nothing): the connect that reloaded %.2f ms median (range %.2f-%.2f); the worst\n"
          "  connect of a run %.2f ms median (range %.2f-%.2f), %.2f ms (range %.2f-%.2f) with no reload; new\n"
          "  rules in force after %.2f s median (range %.2f-%.2f)"
          % (statistics.median(reloading), min(reloading), max(reloading), statistics.median(worst), min(worst),
             max(worst), statistics.median(quiet), min(quiet), max(quiet), statistics.median(delays), min(delays),
             max(delays)))
    results["reload_connect_ms"] = statistics.median(reloading)
    results["reload_worst_ms"] = statistics.median(worst)
    results["reload_in_force_s"] = max(delays)
    for path in big.values():
        os.unlink(path)


def decide_rows(*args):
    """bench_decide ARGS: its lines printed, its RESULT lines kept."""
    out = subprocess.run([os.path.join(BUILD, "bench", "bench_decide")] + list(args) + [TMP], capture_output=True,
                         text=True, check=True).stdout
    for line in out.splitlines():
        if line.startswith("RESULT "):
            _, k, v = line.split()
            results[k] = float(v)
        else:
            print("  " + line)


def shared_rows(port):
    """Schedules of a shared scope ("file": the library preloaded by hand):
    the pass-through with such a schedule present vs none, and with one
    counting every connect; the decision alone (bench_decide --shared)."""
    print("\n== shared-scope schedules (scope \"file\", preloaded; the state file in a private XDG_RUNTIME_DIR)")
    xdg = os.path.join(TMP, "xdg")
    os.mkdir(xdg, 0o700)
    rules = nonmatching_rules(1000)
    first = 'rules = (\n{ name = "s"; dst = "%s"; port = %s; action = "refuse"; %s },\n'
    plain = config("shared-none.cfg", rules.replace("rules = (\n", first % ("10.255.255.254", 1, ""), 1))
    sched = config("shared-sched.cfg", rules.replace("rules = (\n", first % ("10.255.255.254", 1,
                                                                             'first = 3; scope = "file";'), 1))
    # Matches every connect, never fires: a shared attempt counted at each.
    counting = config("shared-count.cfg", rules.replace("rules = (\n", first % ("127.0.0.1", port,
                                                                               'after = 1000000000; scope = "file";'), 1))
    loop = [BENCH, "pass", "4000", port]
    env = lambda cfg: {"LD_PRELOAD": LIB, "CONNREFUSE_CONFIG": cfg, "XDG_RUNTIME_DIR": xdg}
    t = abn("pass-through, socket+connect+close, 1,001 rules (%d rounds): bare; no schedule; one rule (not this\n"
            "connect's) with a shared schedule; one matching every connect with a shared schedule that never fires:"
            % PASS_ROUNDS,
            [("bare", loop, None), ("no schedule", loop, env(plain)), ("a shared schedule", loop, env(sched)),
             ("a shared count each connect", loop, env(counting))], PASS_ROUNDS)
    results["shared_pass_ratio_none"] = t[1] / t[0]
    results["shared_pass_ratio_sched"] = t[2] / t[0]
    for k, name in ((2, "a shared schedule present"), (3, "a shared count at each connect")):
        ratios = sorted(y / x for x, y in zip(abn.times[1], abn.times[k]))
        print("  %s / no schedule: %.3f (per-round: median %.3f, range %.3f-%.3f)"
              % (name, t[k] / t[1], statistics.median(ratios), ratios[0], ratios[-1]))
        results["shared_pass_vs_none_%d" % k] = statistics.median(ratios)
    decide_rows("--shared")


def report_stream(cli, total_bytes=1 << 30):
    """Pipes 1 GiB of syslog lines (RFC 3164 headers from 50 machines, 1,000
    destinations, 20 rules and programs) into connrefuse report: lines a
    second, and its peak RSS against a run over 1/16 of it (constant memory:
    the same)."""
    lines = []
    for i in range(4096):
        lines.append(("<28>Dec  1 18:00:%02d host%02d connrefuse[%d]: result=refused simulated=%s rule=r%d "
                      "action=refuse pid=%d uid=%d comm=prog%d dst=10.0.%d.%d:5432 proto=tcp errno=ECONNREFUSED "
                      "code=111 hex=0x6f wsa=WSAECONNREFUSED wsa_code=10061 wsa_hex=0x274d desc=\"Connection refused\" "
                      "hint=\"nothing listens on that port, or a firewall rejected the connection\"\n")
                     % (i % 60, i % 50, 1000 + i, "yes" if i % 3 else "no", i % 20, 1000 + i, i % 7, i % 20,
                        (i // 250) % 4, i % 250))
    block = "".join(lines).encode()
    rows = []
    for size in (total_bytes // 16, total_bytes):
        proc = subprocess.Popen([cli, "report", "-"], stdin=subprocess.PIPE, stdout=subprocess.DEVNULL)
        start = time.time()
        sent = n = 0
        while sent < size:
            proc.stdin.write(block)
            sent += len(block)
            n += len(lines)
        proc.stdin.flush()
        # Its peak RSS since the exec (the fork's copy of this process not
        # counted), read while it still runs: all but the summary's printing.
        with open("/proc/%d/status" % proc.pid) as f:
            hwm = int([l.split()[1] for l in f if l.startswith("VmHWM:")][0])
        proc.stdin.close()
        proc.wait()
        secs = time.time() - start
        rows.append((sent, n, secs, hwm))
        print("  %5d MiB, %d lines: %.1f s, %.2f M lines/s, %.0f MB/s; peak RSS %.1f MiB"
              % (sent >> 20, n, secs, n / secs / 1e6, sent / secs / 1e6, hwm / 1024))
    results["report_lines_per_s"] = rows[-1][1] / rows[-1][2]
    print("  16x the input, peak RSS %.2fx: the report streams (memory grows with distinct keys only)"
          % (rows[1][3] / rows[0][3]))


def start_audit(cli, out_path, args=(), cmd=None):
    """connrefuse audit (or cmd, which says "watching" on stderr too)
    writing out_path, once it watches; None if it cannot."""
    err_path = out_path + ".err"
    p = subprocess.Popen(cmd or [cli, "audit"] + list(args), stdout=open(out_path, "w"), stderr=open(err_path, "w"))
    for _ in range(1000):
        text = open(err_path).read()
        if "watching" in text:
            return p
        if p.poll() is not None:
            print("  audit cannot run here: " + text.strip().splitlines()[-1])
            return None
        time.sleep(0.01)
    p.kill()
    return None


def stop_audit(p):
    p.terminate()
    p.wait()


def cgroup2_root():
    """Where the cgroup2 file system is mounted ("" if nowhere)."""
    for line in open("/proc/self/mountinfo"):
        left, _, right = line.partition(" - ")
        if right.split()[:1] == ["cgroup2"]:
            return left.split()[4]
    return ""


def audit_rows(cli, port, closed):
    """connrefuse audit: a connect loop with the auditor running vs not, and
    bursts of refusals, each logged, suppressed or counted as dropped."""
    print("\n== connrefuse audit (the kernel's view, eBPF)")
    if os.geteuid() != 0 or not os.path.exists("/sys/kernel/btf/vmlinux"):
        print("  needs root and a kernel with BTF: skipped")
        return
    probe = start_audit(cli, os.path.join(TMP, "audit-probe.out"))
    if not probe:
        return
    stop_audit(probe)
    cmd = [BENCH, "pass", "4000", port]
    # The floor: an empty program on the same tracepoint, as tp_btf (the
    # auditor's kind) and as a raw tracepoint: the price of the hook alone.
    floor = [os.path.join(BUILD, "bench", "audit_floor"), os.path.join(BUILD, "bench", "audit_floor.bpf.o")]
    kinds = [("no auditor", None), ("empty tp_btf program", floor + ["empty_btf"]),
             ("empty raw_tp program", floor + ["empty_raw"]),
             # The floor of the auditor with UDP: an empty program on the connects too.
             ("empty tp_btf + connect4", floor + ["empty_btf,empty_connect4", cgroup2_root()]),
             ("connrefuse audit running", [cli, "audit"]),
             # Without CAP_NET_ADMIN: no program on the connects (UDP's), TCP alone.
             ("audit, TCP only", ["setpriv", "--bounding-set=-net_admin", "--inh-caps=-net_admin", cli, "audit"])]
    times = {name: [] for name, _ in kinds}
    # (More rounds where the VM's noise exceeds the differences: 81 there.)
    rounds = int(os.environ.get("BENCH_AUDIT_ROUNDS", PASS_ROUNDS))
    for i in range(rounds):
        for name, watcher in kinds:
            p = watcher and start_audit(cli, os.path.join(TMP, "audit-loop.out"), cmd=watcher)
            if watcher and not p:
                return
            times[name].append(run(cmd))
            if p:
                stop_audit(p)
    print("socket+connect+close to a loopback listener (%d rounds, each watcher started and stopped each round):"
          % rounds)
    bare = times["no auditor"]
    for name, _ in kinds:
        print("  %-28s %s  (x%.3f)" % (name, fmt(times[name]), statistics.median(times[name]) / statistics.median(bare)))
    audited = times["connrefuse audit running"]
    ratios = sorted(b / a for a, b in zip(bare, audited))
    r = statistics.median(audited) / statistics.median(bare)
    print("  ratio audited / bare: %.3f (per-round: median %.3f, range %.3f-%.3f; target <= 1.03)"
          % (r, statistics.median(ratios), ratios[0], ratios[-1]))
    results["audit_ratio"] = r
    results["audit_floor_ratio"] = statistics.median(times["empty tp_btf program"]) / statistics.median(bare)
    med = {name: statistics.median(t) for name, t in times.items()}
    print("  over their floors: audited / empty tp_btf + connect4 %.3f; TCP only / empty tp_btf %.3f"
          % (med["connrefuse audit running"] / med["empty tp_btf + connect4"],
             med["audit, TCP only"] / med["empty tp_btf program"]))
    if os.environ.get("BENCH_AUDIT_LOOP_ONLY"):  # the loop rows alone (tuning the program)
        return
    # Bursts of refusals from a cgroup of the bench's own (the auditor
    # watches it alone: other work on the machine fails connects too).
    root = ""
    for line in open("/proc/self/mountinfo"):
        f = line.split()
        if f[f.index("-") + 1] == "cgroup2":
            root = f[4]
            break
    if not root:
        print("  no cgroup2 mount: the burst rows skipped")
        return
    cg = "/connrefuse-bench.%d" % os.getpid()
    os.mkdir(root + cg)
    loop = os.path.join(BUILD, "tests", "connloop")
    try:
        n = 30000
        rows = []
        for _ in range(3):
            out = os.path.join(TMP, "audit-burst.out")
            p = start_audit(cli, out, ["--cgroup", cg])
            t0 = time.time()
            made = subprocess.run(["sh", "-c", 'echo $$ > "$0/cgroup.procs" && exec "$@"', root + cg, loop,
                                   "127.0.0.1", closed, str(n)], capture_output=True, text=True, check=True).stdout
            rate = n / (time.time() - t0)
            stop_audit(p)
            logged = suppressed = dropped = 0
            for line in open(out):
                kv = dict(x.split("=", 1) for x in line.split() if "=" in x)
                if kv.get("result") == "refused" and kv.get("dst", "").endswith(":" + closed):
                    logged += 1
                elif kv.get("result") == "suppressed":
                    suppressed += int(kv.get("count", 0))
                    dropped += int(kv.get("dropped", 0))
            rows.append((rate, logged, suppressed, dropped, made.split()[0]))
        print("%d refusals as fast as connloop makes them, 3 runs (the default rate limit, 100 lines a second):" % n)
        for rate, logged, suppressed, dropped, made in rows:
            print("  %6.0f refusals/s (%s): %d logged + %d suppressed + %d dropped = %d of %d"
                  % (rate, made, logged, suppressed, dropped, logged + suppressed + dropped, n))
        acc = statistics.median(l + s + d for _, l, s, d, _ in rows)
        print("  median accounted for: %d of %d (%s); median rate %.0f/s"
              % (acc, n, "all" if acc == n else "NOT ALL", statistics.median(r[0] for r in rows)))
        results["audit_accounted"] = acc / n
    finally:
        os.rmdir(root + cg)


def relay_rows(cli, port):
    """Faults after connect (connrefuse run's relay, doc/relay.md): the
    connect loop with such a rule present for another destination vs none
    (connections no such rule matches are untouched); through the relay
    with a rule whose fault never fires (after_bytes beyond the transfer) vs
    direct: throughput, and the time a one-byte round trip adds; a minimal
    forwarder (relay_pair forward: a thread a direction, blocking read and
    write) beside them, the least any user-space relay costs here."""
    print("\n== faults after connect: connrefuse run's relay")
    pair = os.path.join(BUILD, "bench", "relay_pair")
    quiet = 'version = 1;\nlog: { syslog = false; level = "none"; };\n'
    other = quiet + 'rules = ( { name = "o"; dst = "10.255.255.254"; port = 1; action = "%s"; %s } );\n'
    plain = config("relay-none.cfg", other % ("refuse", ""))
    fault = config("relay-other.cfg", other % ("reset", "after_bytes = 1000;"))
    loop = [BENCH, "pass", "4000", port]
    _, _, r = ab("pass-through under connrefuse run, socket+connect+close (%d rounds): a refuse rule for another\n"
                 "destination; a reset rule (after_bytes) for it instead, which makes run host its relay:" % PASS_ROUNDS,
                 [cli, "run", "-c", plain, "--"] + loop, None, [cli, "run", "-c", fault, "--"] + loop, None,
                 "no after-connect rule", "an after-connect rule", PASS_ROUNDS)
    results["relay_pass_ratio"] = r
    procs = []
    try:
        ports = []
        for args in (["serve"], ["forward"]):
            portfile = os.path.join(TMP, "relay-%s.port" % args[0])
            procs.append(subprocess.Popen([pair] + args + [portfile] + ports[:1]))
            while not os.path.exists(portfile):
                time.sleep(0.01)
            ports.append(open(portfile).read().strip())
        server, floor = ports
        never = config("relay-never.cfg", quiet + 'rules = ( { name = "never"; dst = "127.0.0.1"; port = %s; '
                       'action = "reset"; after_bytes = 1000000000000; } );\n' % server)
        relayed = [cli, "run", "-c", never, "--"]
        down = lambda p: [pair, "down", p, str(256 << 20)]
        t = abn("256 MiB downloaded over loopback (MB/s): direct; through the relay (a rule whose fault never\n"
                "fires); through the minimal forwarder:",
                [("direct", down(server), None), ("relayed", relayed + down(server), None),
                 ("minimal forwarder", down(floor), None)], unit="MB/s")
        print("  (the target: relayed / direct >= 0.50)")
        results["relay_throughput_ratio"] = t[1] / t[0]
        ping = lambda p: [pair, "ping", p, "2000"]
        t = abn("one-byte round trips, the median of 2,000 (us): direct; relayed; through the minimal forwarder:",
                [("direct", ping(server), None), ("relayed", relayed + ping(server), None),
                 ("minimal forwarder", ping(floor), None)], unit="us")
        for k, name in ((1, "the relay"), (2, "the minimal forwarder")):
            added = sorted(y - x for x, y in zip(abn.times[0], abn.times[k]))
            print("  added by %s: %+.1f us (per-round: median %+.1f, range %+.1f to %+.1f)%s"
                  % (name, t[k] - t[0], statistics.median(added), added[0], added[-1],
                     "; target <= 50" if k == 1 else ""))
        results["relay_rtt_added_us"] = t[1] - t[0]
        results["relay_rtt_floor_added_us"] = t[2] - t[0]
        split = lambda p: [pair, "split", p, "200"]
        t = abn("the same with each request written in two parts 300 us apart, the median of 200 (us): direct;\n"
                "relayed (the relay's sockets have TCP_NODELAY: with Nagle's algorithm, 44,000 us here):",
                [("direct", split(server), None), ("relayed", relayed + split(server), None)], unit="us")
        results["relay_split_added_us"] = t[1] - t[0]
    finally:
        for p in procs:
            p.kill()
            p.wait()


def main():
    t_start = time.time()
    machine = subprocess.run(["sh", "-c", "uname -r; nproc; lscpu | sed -n 's/^Model name: *//p'"],
                             capture_output=True, text=True).stdout.split("\n")
    print("machine: %s, %s cores, kernel %s; %d rounds per figure, alternated"
          % (machine[2].strip(), machine[1].strip(), machine[0].strip(), ROUNDS))
    portfile = os.path.join(TMP, "port")
    listener = subprocess.Popen([os.path.join(BUILD, "bench", "listener"), portfile])
    try:
        while not os.path.exists(portfile):
            time.sleep(0.01)
        port = open(portfile).read().strip()
        closed = subprocess.run([sys.executable, "-c", "import socket; s=socket.socket(); "
                                 "s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])"],
                                capture_output=True, text=True).stdout.strip()

        if os.environ.get("BENCH_ONLY") == "compiled":  # that section alone
            compiled_rows(os.path.join(BUILD, "connrefuse"), port)
            return
        if os.environ.get("BENCH_ONLY") == "audit":
            audit_rows(os.path.join(BUILD, "connrefuse"), port, closed)
            return
        if os.environ.get("BENCH_ONLY") == "shared":
            shared_rows(port)
            return
        if os.environ.get("BENCH_ONLY") == "relay":
            relay_rows(os.path.join(BUILD, "connrefuse"), port)
            return
        print("\n== pass-through: socket+connect+close to a loopback listener, preloaded vs bare (%d rounds)"
              % PASS_ROUNDS)
        for n in (0, 1000, 100000):
            cfg = config("pass-%d.cfg" % n, nonmatching_rules(n))
            _, _, r = ab("%d non-matching rules:" % n, [BENCH, "pass", "4000", port], None,
                         [BENCH, "pass", "4000", port], {"LD_PRELOAD": LIB, "CONNREFUSE_CONFIG": cfg},
                         "bare", "preloaded", PASS_ROUNDS)
            results["pass_ratio_%d" % n] = r
        compiled = config("pass-100000.cfg", nonmatching_rules(100000)) + ".compiled"
        compile_rules(os.path.join(BUILD, "connrefuse"), compiled[:-len(".compiled")], compiled)
        _, _, r = ab("100000 non-matching rules, compiled:", [BENCH, "pass", "4000", port], None,
                     [BENCH, "pass", "4000", port], {"LD_PRELOAD": LIB, "CONNREFUSE_CONFIG": compiled},
                     "bare", "preloaded", PASS_ROUNDS)
        results["pass_ratio_compiled"] = r

        print("\n== decision alone (in process)")
        decide_rows()

        shared_rows(port)

        print("\n== loading 100,000 rules (each load in a fresh process; median of 5)")
        loads = []
        for _ in range(5):
            out = subprocess.run([os.path.join(BUILD, "bench", "bench_decide"), "--load", TMP],
                                 capture_output=True, text=True, check=True).stdout
            r = {}
            lines = []
            for line in out.splitlines():
                if line.startswith("RESULT "):
                    _, k, v = line.split()
                    r[k] = float(v)
                else:
                    lines.append(line)
            loads.append(r)
        ms = sorted(r["load_ms"] for r in loads)
        us = sorted(r["load_compiled_us"] for r in loads)
        print("  load from text: %.0f ms median (range %.0f-%.0f); compiled: %.1f us median (range %.1f-%.1f)"
              % (ms[2], ms[0], ms[4], us[2], us[0], us[4]))
        print("  " + "\n  ".join(lines))
        results["load_ms"] = ms[2]
        results["load_compiled_us"] = us[2]

        compiled_rows(os.path.join(BUILD, "connrefuse"), port)

        print("\n== a simulated blocking refusal vs a real kernel refusal, connect() alone, logging off")
        refuse = config("refuse.cfg", 'version = 1;\nlog: { syslog = false; level = "none"; };\n'
                        'rules = ( { name = "r"; port = %s; action = "refuse"; } );\n' % port)
        real, sim, r = ab("", [BENCH, "call", "5000", closed], None, [BENCH, "call", "5000", port],
                          {"LD_PRELOAD": LIB, "CONNREFUSE_CONFIG": refuse}, "kernel refusal", "simulated")
        print("  the simulated refusal is %.0fx cheaper" % (real / sim))
        results["refusal_cheaper"] = real / sim

        print("\n== a drop vs a simulated refusal, non-blocking connect() alone, logging off")
        drop = config("drop.cfg", 'version = 1;\nlog: { syslog = false; level = "none"; };\n'
                      'rules = ( { name = "d"; port = %s; action = "drop"; } );\n' % port)
        refused, dropped, r = ab("", [BENCH, "nbcall", "5000", port], {"LD_PRELOAD": LIB, "CONNREFUSE_CONFIG": refuse},
                                 [BENCH, "nbcall", "5000", port], {"LD_PRELOAD": LIB, "CONNREFUSE_CONFIG": drop},
                                 "simulated refusal", "drop")
        results["drop_vs_refusal"] = r

        print("\n== a refused socket+connect+close loop (10,000): connrefuse vs strace inject")
        loop = [BENCH, "loop", "10000", port]
        cr = {"LD_PRELOAD": LIB, "CONNREFUSE_CONFIG": refuse}
        strace = shutil.which("strace")
        if not strace:
            print("  strace not installed: skipped")
        else:
            # The command as given (strace prints every system call,
            # to /dev/null here, its cheapest sink); the same printing only
            # the connects (strace at its quietest); and --seccomp-bpf, which
            # needs that filter. socket()+close() with no connect at all is
            # what no interposer can go below.
            inject = [strace, "-f", "-o", "/dev/null", "-e", "inject=connect:error=ECONNREFUSED"]
            quiet = inject[:-2] + ["-e", "trace=connect"] + inject[-2:]
            t = abn("the loop refused by connrefuse; socket+close alone; under strace inject:",
                    [("connrefuse", loop, cr),
                     ("socket+close (no connect)", [BENCH, "noconnect", "10000", port], None),
                     ("strace inject", inject + loop, None),
                     ("strace inject, trace=connect", quiet + loop, None),
                     ("strace --seccomp-bpf", quiet[:1] + ["--seccomp-bpf"] + quiet[1:] + loop, None)])
            print("  connrefuse is %.1fx faster than strace inject (%.1fx than with trace=connect), "
                  "%.1fx than strace --seccomp-bpf" % (t[2] / t[0], t[3] / t[0], t[4] / t[0]))
            print("  no interposer can be more than %.1fx faster than strace inject here (%.1fx with trace=connect)"
                  % (t[2] / t[1], t[3] / t[1]))
            results["strace_ratio"] = t[2] / t[0]
            results["strace_ceiling"] = t[2] / t[1]
            results["strace_seccomp_ratio"] = t[4] / t[0]

        print("\n== run --seccomp (no preload; the supervisor decides every connect)")
        cli = os.path.join(BUILD, "connrefuse")
        if subprocess.run([cli, "run", "--seccomp", "--", "true"], capture_output=True).returncode != 0:
            print("  seccomp user notification unavailable here: skipped")
        else:
            quiet = config("quiet.cfg", 'version = 1;\nlog: { syslog = false; level = "none"; };\n')
            pass_loop = [BENCH, "pass", "2000", port]
            bare, floor, none, rules = abn(
                "pass-through, socket+connect+close, logging off: bare; under an empty supervisor that answers\n"
                "every trapped connect at once (the kernel's round trip, the floor); connrefuse with no rules\n"
                "(destinations not even read) and with 1,000 non-matching rules:",
                [("bare", pass_loop, None),
                 ("empty supervisor", [os.path.join(BUILD, "bench", "seccomp_floor")] + pass_loop, None),
                 ("--seccomp, no rules", [cli, "run", "--seccomp", "-c", quiet, "--"] + pass_loop, None),
                 ("--seccomp, 1,000 rules", [cli, "run", "--seccomp", "-c", config("pass-1000.cfg",
                                                                                  nonmatching_rules(1000)), "--"]
                  + pass_loop, None)])
            print("  connrefuse / empty supervisor: %.2f (no rules), %.2f (1,000 rules); what is left is the round trip"
                  % (none / floor, rules / floor))
            results["seccomp_floor_ratio"] = floor / bare
            results["seccomp_pass_ratio"] = none / bare
            results["seccomp_rules_ratio"] = rules / bare
            audit = config("audit.cfg", 'version = 1;\nlog: { syslog = false; };\n')
            _, _, r = ab("pass-through with the audit of blocking connects (level failures):",
                         [BENCH, "pass", "2000", port], None,
                         [cli, "run", "--seccomp", "-c", audit, "--", BENCH, "pass", "2000", port], None,
                         "bare", "--seccomp")
            results["seccomp_audit_ratio"] = r
            _, _, r = ab("non-blocking pass-through (connect, poll, SO_ERROR, as event loops and Go do) under audit:",
                         [BENCH, "nonblock", "2000", port], None,
                         [cli, "run", "--seccomp", "-c", audit, "--", BENCH, "nonblock", "2000", port], None,
                         "bare", "--seccomp")
            results["seccomp_audit_nonblock_ratio"] = r
            real, sim, r = ab("a simulated blocking refusal vs a real one, connect() alone:",
                              [BENCH, "call", "5000", closed], None,
                              [cli, "run", "--seccomp", "-c", refuse, "--", BENCH, "call", "5000", port], None,
                              "kernel refusal", "--seccomp simulated")
            results["seccomp_refusal_ratio"] = r

        audit_rows(os.path.join(BUILD, "connrefuse"), port, closed)

        relay_rows(os.path.join(BUILD, "connrefuse"), port)

        print("\n== connrefuse report over a big fleet file, streamed from a pipe")
        report_stream(os.path.join(BUILD, "connrefuse"))

        print("\n== a logging storm: the refused loop, 100,000 times, syslog receiver that never reads")
        if os.geteuid() != 0:
            print("  needs root (a private /dev with its own /dev/log): skipped")
        else:
            storm = subprocess.run([os.path.join(HERE, "..", "integration", "private-dev.sh"), sys.executable,
                                    os.path.join(HERE, "storm.py"), BUILD, port, TMP],
                                   capture_output=True, text=True)
            sys.stdout.write(storm.stdout)
            if storm.returncode != 0:
                sys.stdout.write(storm.stderr)
    finally:
        listener.kill()
        listener.wait()
        shutil.rmtree(TMP, ignore_errors=True)
    print("\nbench finished in %.0f s" % (time.time() - t_start))


main()
