# The documentation agrees with the program (tests/tools/check-docs.py):
# every command, option, config key and variable that README.md, doc/*.md
# and the man pages name exists, and every one that exists is documented in
# doc/ and the man pages; config examples pass check; relative links lead
# somewhere. The check is then shown to fail on a copy of the docs that
# lost a key's documentation, and on a copy that names what does not exist.
GOLDEN_SKIP=1 # it copies the docs, whose example log lines are not this test's
. "$(dirname "$0")/lib.sh"
top=$HERE/../..
check_docs() { $PY "$top/tests/tools/check-docs.py" "$CLI" "$top/src" "$1"; }
check_docs "$top" > "$T/out" 2>&1 || { cat "$T/out"; fail "the docs disagree with the program"; }
ok "$(tail -n 1 "$T/out")"

# copy_docs DIR: the docs a checker reads (the links reach src/README.md).
copy_docs() {
	mkdir -p "$1/src" && cp -r "$top/README.md" "$top/doc" "$1/" && cp "$top/src/README.md" "$1/src/"
}

# Break it on purpose: log.rate's row gone from doc/config.md.
copy_docs "$T/a"
sed -i '/^| `rate` |/d' "$T/a/doc/config.md"
if check_docs "$T/a" > "$T/bad" 2>&1; then
	fail "docs without log.rate's row passed the check"
fi
expect_grep '^doc/config.md: key log.rate is not documented \(no row \| `rate` \| under ## log\)$' "$T/bad" \
	"the check fails on a key removed from doc/config.md"

# And on names that do not exist: an option, a command, a key, a variable,
# a broken link.
copy_docs "$T/b"
printf '%s\n' 'Try `connrefuse run --frobnicate`, `connrefuse frobnicate FILE`, `log.colour`,' \
	'CONNREFUSE_DEBUG and [the page](nowhere.md).' >> "$T/b/doc/rules.md"
check_docs "$T/b" > "$T/bad2" 2>&1 && fail "docs naming what does not exist passed the check"
expect_grep "^doc/rules.md: 'connrefuse run --frobnicate': run takes no such option$" "$T/bad2" "an option that does not exist"
expect_grep "^doc/rules.md: 'connrefuse frobnicate': no such command" "$T/bad2" "a command that does not exist"
expect_grep "^doc/rules.md: 'log.colour': no such key" "$T/bad2" "a key that does not exist"
expect_grep "^doc/rules.md: CONNREFUSE_DEBUG: the library reads no such variable$" "$T/bad2" "a variable the library does not read"
expect_grep "^doc/rules.md: link to nowhere.md: no such file$" "$T/bad2" "a link to no file"
