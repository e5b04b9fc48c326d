"""longest-functions.py [N] [SRC]: the N longest functions of SRC (15, src),
by lines from the opening brace to the closing one, longest first.

It reads the sources as kernel style writes them: a function's body opens
with a '{' alone at the start of a line and closes with a '}' at the start
of a line; its name is the word before the first '(' of the lines above."""
import os
import re
import sys

n = int(sys.argv[1]) if len(sys.argv) > 1 else 15
src = sys.argv[2] if len(sys.argv) > 2 else "src"
found = []
for root, _, names in os.walk(src):
    for name in names:
        if not name.endswith((".c", ".h")):
            continue
        path = os.path.join(root, name)
        lines = open(path).read().split("\n")
        for i, line in enumerate(lines):
            if line != "{":
                continue
            head = ""
            for j in range(i - 1, max(i - 6, -1), -1):
                head = lines[j] + " " + head
                if re.match(r"[A-Za-z_]", lines[j]):
                    break
            m = re.search(r"(\w+)\s*\(", head)
            end = next((k for k in range(i + 1, len(lines)) if lines[k].startswith("}")), None)
            if m and end is not None and "=" not in head.split("(")[0]:
                found.append((end - i + 1, os.path.relpath(path, src), m.group(1), i))
for length, path, func, line in sorted(found, key=lambda f: (-f[0], f[1], f[3]))[:n]:
    print("%5d  %s:%d %s" % (length, path, line + 1, func))
