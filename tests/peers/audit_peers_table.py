"""The table of audit_peers.sh: for each failure an oracle made, what each
watcher printed about it. A line is attributed by the client's pid where the
tool prints one at the connect's start (the socket's address, or its ports,
then follow the rest); "its pid" means the client's, otherwise the task that
was current when the tool's event fired is named ("the server": the
resetting server's).

Usage: audit_peers_table.py DIR CLOSED DROP HOSTUN ADMIN RST RESET UCLOSED
"""

import errno
import os
import re
import sys

T = sys.argv[1]
CLOSED, DROP, HOSTUN, ADMIN, RST, RESET, UCLOSED = sys.argv[2:9]
ORACLES = [
    (CLOSED, "closed port", ["python3", "curl"]),
    (DROP, "nft drop, tcp_syn_retries=1", ["python3", "curl"]),
    (HOSTUN, "nft reject icmp host-unreachable", ["python3", "curl"]),
    (ADMIN, "nft reject icmp admin-prohibited", ["python3", "curl"]),
    (RST, "nft reject with tcp reset", ["python3", "curl"]),
    (RESET, "server resets before its first byte", ["python3", "curl"]),
    (UCLOSED, "UDP, closed port", ["python3"]),
]
SERVER = open(os.path.join(T, "pid.resetd")).read().strip()
STATES = {1: "ESTABLISHED", 2: "SYN_SENT", 7: "CLOSE"}
TCPSTATES_SHORT = {"SYN_SENT": "SYN_SENT", "ESTABLISHED": "ESTAB", "CLOSE": "CLOSE"}


def lines(name):
    path = os.path.join(T, name + ".out")
    if not os.path.exists(path):
        return None
    with open(path, errors="replace") as f:
        return f.read().splitlines()


def errname(n):
    n = abs(int(n))
    return errno.errorcode.get(n, str(n)) if n else "0"


def who(pid, comm, client_pid):
    if pid == client_pid:
        return "its pid"
    return "pid %s %s%s" % (pid, comm, " (the server)" if pid == SERVER else "")


def audit_cell(out, pid, port):
    hits = [l for l in out if " pid=%s " % pid in l and ":%s " % port in l]
    if not hits:
        return "nothing"
    cells = []
    for l in hits:
        e = re.search(r" errno=(\S+)", l)
        c = re.search(r" comm=(\S+)", l)
        cells.append("%s, its pid, comm=%s" % (e.group(1) if e else "?", c.group(1) if c else "?"))
    return "; ".join(cells)


def tcpstates_cell(out, pid, port):
    # SKADDR PID COMM LADDR LPORT RADDR RPORT OLDSTATE -> NEWSTATE MS
    rows = [l.split() for l in out if len(l.split()) == 11]
    start = [i for i, r in enumerate(rows) if r[1] == pid and r[6] == port and r[9] == "SYN_SENT"]
    if not start:
        return "nothing"
    i = start[0]
    sk = rows[i][0]
    path, end = ["SYN_SENT"], None
    for r in rows[i + 1 :]:
        if r[0] != sk:
            continue
        path.append(TCPSTATES_SHORT.get(r[9], r[9]))
        if r[9] == "CLOSE":
            end = r
            break
    if end is None:
        return "%s (no CLOSE)" % "→".join(path)
    return "%s, CLOSE in %s; no errno" % ("→".join(path), who(end[1], end[2], pid))


def tcplife_cell(out, pid, port):
    # PID COMM LADDR LPORT RADDR RPORT TX_KB RX_KB MS
    rows = [l.split() for l in out if len(l.split()) == 9]
    hits = [r for r in rows if r[0] == pid and r[5] == port]
    if not hits:
        return "nothing"
    r = hits[0]
    return "a session of %s ms, tx %s rx %s KB, its pid; no errno" % (r[8], r[6], r[7])


def kv(l):
    return dict(x.split("=", 1) for x in l.split()[1:] if "=" in x)


def bpftrace_cell(out, pid, port, udp):
    recs = [(l.split()[0], kv(l)) for l in out if l.startswith(("state ", "error "))]
    cells = []
    sport = None
    if not udp:
        start = [i for i, (k, r) in enumerate(recs) if k == "state" and r["pid"] == pid and r["dport"] == port and r["new"] == "2"]
        if not start:
            return "nothing"
        i = start[0]
        sk = recs[i][1]["sk"]
        path = ["SYN_SENT"]
        for k, r in recs[i + 1 :]:
            if k != "state" or r["sk"] != sk:
                continue
            path.append(STATES.get(int(r["new"]), r["new"]))
            sport = r["sport"]
            if r["new"] == "7":
                cells.append(
                    "%s, CLOSE in %s, sk_err=%s" % ("→".join(path), who(r["pid"], r["comm"], pid), errname(r["sk_err"]))
                )
                break
    for k, r in recs:
        if k != "error" or r["dport"] != port:
            continue
        if udp and r["proto"] == "17" and r["pid"] == pid or not udp and r["proto"] == "6" and r["sport"] == sport:
            cell = "error report %s in %s" % (errname(r["error"]), who(r["pid"], r["comm"], pid))
            if cells and cells[-1].startswith(cell):
                cells[-1] = cell + " (twice)"
            else:
                cells.append(cell)
    return "; ".join(cells) or "nothing"


def main():
    outs = {w: lines(w) for w in ("audit", "tcpstates", "tcplife", "bpftrace")}
    cols = [("audit", "connrefuse audit"), ("tcpstates", "tcpstates (libbpf-tools)"), ("tcplife", "tcplife (libbpf-tools)"), ("bpftrace", "bpftrace on the two tracepoints")]
    cols = [(w, t) for w, t in cols if outs[w] is not None]
    print("| failure | client | " + " | ".join(t for _, t in cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for port, what, clients in ORACLES:
        udp = port == UCLOSED
        for c in clients:
            pf = os.path.join(T, "pid.%s.%s" % (c, port))
            if not os.path.exists(pf):
                continue
            pid = open(pf).read().strip()
            cells = []
            for w, _ in cols:
                if w == "audit":
                    cells.append(audit_cell(outs[w], pid, port))
                elif w == "bpftrace":
                    cells.append(bpftrace_cell(outs[w], pid, port, udp))
                elif udp:
                    cells.append("(TCP only)")
                elif w == "tcpstates":
                    cells.append(tcpstates_cell(outs[w], pid, port))
                else:
                    cells.append(tcplife_cell(outs[w], pid, port))
            print("| %s (%s) | %s | %s |" % (what, port, c, " | ".join(cells)))


main()
