# A config that cannot be loaded: one message naming file, line and problem;
# the program still runs (with no rules); CONNREFUSE_STRICT=1 exits 78
# before the program does anything.
. "$(dirname "$0")/lib.sh"
syntax=$(config syntax.cfg 'version = 1;
rules = ( { name = "x"; ] );')
unknown=$(config unknown.cfg 'version = 1;
log: { syslog = false; };
rules = (
  { name = "x"; action = "refuse"; colour = "red"; }
);')
value=$(config value.cfg 'version = 1;
rules = (
  { name = "x";
    dst = "10.1.2.3/8"; action = "refuse"; }
);')
missing=$T/missing.cfg
for c in "$syntax:2:.*syntax error" "$unknown:4: rule \"x\": unknown key 'colour'" \
	 "$value:4: rule \"x\": dst \"10.1.2.3/8\" has host bits set" "$missing: cannot read the file"; do
	file=${c%%:*}
	CONNREFUSE_CONFIG=$file LD_PRELOAD=$PRELOAD $PY -c 'print("ran")' > "$T/out" 2> "$T/err"
	expect_eq "$?:$(cat "$T/out")" "0:ran" "$(basename "$file"): the program runs"
	expect_eq "$(wc -l < "$T/err")" 1 "$(basename "$file"): exactly one message"
	expect_grep "^connrefuse: config error: $c" "$T/err" "$(basename "$file"): message names file and line"
	CONNREFUSE_STRICT=1 CONNREFUSE_CONFIG=$file LD_PRELOAD=$PRELOAD $PY -c 'print("ran")' > "$T/out" 2> "$T/err"
	expect_eq "$?:$(cat "$T/out")" "78:" "$(basename "$file"): CONNREFUSE_STRICT=1 exits 78 before the program runs"
	expect_grep "CONNREFUSE_STRICT=1" "$T/err" "$(basename "$file"): strict message"
	"$CLI" check "$file" > /dev/null 2> "$T/check.err"
	expect_eq "$?" 1 "$(basename "$file"): connrefuse check exits 1"
	expect_grep "^connrefuse: $c" "$T/check.err" "$(basename "$file"): connrefuse check gives the same message"
done
# A good config under STRICT runs normally.
good=$(config good.cfg 'version = 1;')
CONNREFUSE_STRICT=1 CONNREFUSE_CONFIG=$good LD_PRELOAD=$PRELOAD $PY -c 'print("ran")' > "$T/out"
expect_eq "$?:$(cat "$T/out")" "0:ran" "a good config under CONNREFUSE_STRICT=1 runs"
