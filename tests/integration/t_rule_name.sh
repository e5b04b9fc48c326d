# A rule's name is carried whole in every line of an attempt, however the
# program learns the outcome: a blocking connect, a non-blocking one asking
# SO_ERROR, one asking with a second connect; preloaded and under
# run --seccomp. With a 255-byte name (the config's limit) on a real refusal
# under audit (level all: the in-progress line too), every line is the same
# in every field but result and errno. One byte more is a config error.
. "$(dirname "$0")/lib.sh"
GOLDEN_SKIP=1 # the lines are compared with each other below
C=$(closed_port)
name=$($PY -c "print('a-rule-name-that-is-well-over-thirty-seven-bytes-' + 'n' * 206)")
expect_eq "${#name}" 255 "the name is 255 bytes long"
printf 'version = 1;\nlog: { syslog = false; stderr = true; level = "all"; };\nrules = ( { name = "%s"; dst = "127.0.0.1"; port = %s; action = "pass"; } );\n' \
	"$name" "$C" > "$T/rules.cfg"
cat > "$T/client.py" <<'PY'
import select, socket, sys
mode, port = sys.argv[1], int(sys.argv[2])
s = socket.socket()
if mode == "blocking":
    print(s.connect_ex(("127.0.0.1", port)))
    sys.exit()
s.setblocking(False)
s.connect_ex(("127.0.0.1", port))
select.select([], [s], [], 10)
if mode == "so_error":
    print(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
else:
    print(s.connect_ex(("127.0.0.1", port)))
PY
for mode in blocking so_error again; do
	CONNREFUSE_CONFIG=$T/rules.cfg LD_PRELOAD=$PRELOAD $PY "$T/client.py" $mode "$C" 2>> "$T/lines"
done
if "$CLI" run --seccomp -- true > /dev/null 2>&1; then
	for mode in blocking so_error again; do
		"$CLI" run --seccomp -c "$T/rules.cfg" -- $PY "$T/client.py" $mode "$C" 2>> "$T/lines"
	done
	expected=10
else
	echo "note: seccomp user notification unavailable here: preloaded only"
	expected=5
fi
cat "$T/lines"
expect_eq "$(grep -c "^connrefuse: result=" "$T/lines")" "$expected" \
	"every attempt's lines: blocking 1, non-blocking 2 each (in progress, refused)"
expect_eq "$(grep -c "^connrefuse: result=refused " "$T/lines")" "$(( expected * 3 / 5 ))" "a refusal line each attempt"
sed -n 's/^connrefuse: result=[^ ]* \(.*\) pid=[0-9]* \(.*\) errno=.*/\1 \2/p' "$T/lines" | sort -u > "$T/fields"
cat "$T/fields"
expect_eq "$(wc -l < "$T/fields")" 1 "every line the same but for result, pid and errno"
expect_grep " rule=\"?$name\"? " "$T/fields" "the rule named whole"
# The limit, said where the name is.
printf 'version = 1;\nrules = ( { name = "%sx"; port = 1; } );\n' "$name" > "$T/long.cfg"
"$CLI" check "$T/long.cfg" > "$T/check.out" 2>&1 && fail "a 256-byte name passed check"
expect_grep "name is 256 bytes long; at most 255 are allowed" "$T/check.out" "check states the limit"
