#!/bin/sh
# wait-for-it under connrefuse: the database refuses the first 3 attempts,
# counted over every process of the run (scope "run", the default), so the
# fourth nc connects. Usage: examples/wait-for-it.sh [PORT] (a listener on
# 127.0.0.1:PORT; the default 5432).
set -eu
port=${1:-5432}
cli=${CONNREFUSE:-connrefuse}
cfg=$(mktemp)
trap 'rm -f "$cfg"' EXIT
cat > "$cfg" <<CFG
version = 1;
rules = ( { name = "db"; dst = "127.0.0.1"; port = $port; action = "refuse"; first = 3; } );
CFG
"$cli" run -c "$cfg" -- sh -c "for i in 1 2 3 4 5 6; do nc -z 127.0.0.1 $port && echo \"connected at attempt \$i\" && exit 0; done; exit 1"
