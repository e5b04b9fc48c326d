// Package connrefuse applies connrefuse rules from inside a Go test: for
// one test or one block, in force once the call returns, undone by
// t.Cleanup even when the test fails.
//
//	func TestMain(m *testing.M) { connrefuse.Main(m) }
//
//	func TestRetry(t *testing.T) {
//		connrefuse.Refuse(t, "127.0.0.1:5432", connrefuse.First(3))
//		...
//		if n := connrefuse.Fired(t, "127.0.0.1:5432"); n != 3 { t.Fatal(n) }
//	}
//
// Go's net package makes raw system calls, which the preload library
// never sees: the tests must run under connrefuse run --seccomp (Main
// re-executes the test binary under it). The rules a test applies replace
// those of the run's rules file (CONNREFUSE_CONFIG) until its end; tests
// of one rules file take turns, across processes. See doc/test-suites.md.
package connrefuse

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
)

const empty = "version = 1;\nrules = ( );\n"

// command is the connrefuse command: $CONNREFUSE, or on PATH.
func command() (string, error) {
	c := os.Getenv("CONNREFUSE")
	if c == "" {
		c = "connrefuse"
	}
	return exec.LookPath(c)
}

func underRun() bool {
	return os.Getenv("CONNREFUSE_CONFIG") != "" && os.Getenv("CONNREFUSE_RUN_STATE") != ""
}

const howToRun = "run the tests as connrefuse run --seccomp -- go test ..., or call connrefuse.Main(m) from TestMain"

// Main runs the tests under connrefuse run --seccomp: not under it, it
// executes the test binary again under it, with a new empty rules file in a
// fresh temporary folder (removed at the end). Call it from TestMain; it
// does not return.
func Main(m *testing.M) {
	if underRun() {
		code := m.Run()
		rules := os.Getenv("CONNREFUSE_CONFIG")
		if dir := os.Getenv("CONNREFUSE_GO_TMP"); dir != "" && filepath.Dir(rules) == dir {
			os.RemoveAll(dir)
			forgetState(rules)
		}
		os.Exit(code)
	}
	cmd, err := command()
	if err != nil {
		// The tests say why, each: not under connrefuse run.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "connrefuse-go-")
	rules := filepath.Join(dir, "rules.cfg")
	if err == nil {
		err = os.WriteFile(rules, []byte(empty), 0o600)
	}
	exe, err2 := os.Executable()
	if err == nil {
		err = err2
	}
	if err == nil {
		argv := append([]string{cmd, "run", "--seccomp", "-c", rules, "--", exe}, os.Args[1:]...)
		err = syscall.Exec(cmd, argv, append(os.Environ(), "CONNREFUSE_GO_TMP="+dir))
	}
	fmt.Fprintf(os.Stderr, "connrefuse: cannot run the tests under connrefuse run --seccomp: %v\n", err)
	os.Exit(2)
}

// forgetState removes the shared schedule state of a rules file that is
// gone (32 KiB that would stay until logout or reboot): named as
// src/engine/shared.c names it (cr_shared_file_path: an FNV-1a hash of the
// absolute path, with that file's offset basis), in $XDG_RUNTIME_DIR or
// /dev/shm, whichever was used. t_helpers_go sees one left behind.
func forgetState(rules string) {
	sum := uint64(1469598103934665603)
	for _, c := range []byte(rules) {
		sum = (sum ^ uint64(c)) * 1099511628211
	}
	if xdg := os.Getenv("XDG_RUNTIME_DIR"); xdg != "" {
		os.Remove(fmt.Sprintf("%s/connrefuse-file-%016x", xdg, sum))
	}
	os.Remove(fmt.Sprintf("/dev/shm/connrefuse-%d-file-%016x", os.Geteuid(), sum))
}

// A session is the rules file in the hands of one test (and its
// subtests): locked, and what it was before the test.
type session struct {
	path     string
	cmd      string
	lock     *os.File
	before   []byte      // the file when this test (or subtest) began
	mode     os.FileMode // kept when the file is replaced
	entries  []string    // the rules this test applied so far
	parent   *session    // a subtest's: the test holding the lock
	restored bool
}

var (
	mu       sync.Mutex
	sessions = map[string]*session{} // by test name
	probe    struct {
		once sync.Once
		err  error
	}
)

// begin: the session of t, made (the file locked, the probe passed) if
// it has none. A subtest of a test holding the file shares its lock.
func begin(t testing.TB) *session {
	t.Helper()
	mu.Lock()
	s := sessions[t.Name()]
	var parent *session
	for name := t.Name(); s == nil && strings.Contains(name, "/"); {
		name = name[:strings.LastIndex(name, "/")]
		parent = sessions[name]
		if parent != nil {
			break
		}
	}
	mu.Unlock()
	if s != nil {
		return s
	}
	cmd, err := command()
	if !underRun() {
		why := howToRun
		if err != nil {
			why = "and the connrefuse command is not on PATH (or set CONNREFUSE=/path/to/connrefuse) for " +
				"connrefuse.Main to run the tests under it: " + err.Error()
		}
		t.Fatalf("connrefuse: not under connrefuse run (CONNREFUSE_CONFIG and CONNREFUSE_RUN_STATE are not set): %s", why)
	}
	if err != nil {
		t.Fatalf("connrefuse: the connrefuse command is not on PATH (or set CONNREFUSE=/path/to/connrefuse): %v", err)
	}
	s = &session{path: os.Getenv("CONNREFUSE_CONFIG"), cmd: cmd, parent: parent}
	if parent == nil {
		// Tests of one rules file take turns, in this process and across
		// processes (one flock per open of FILE.lock); held until the test's
		// rules are undone.
		s.lock, err = os.OpenFile(s.path+".lock", os.O_RDWR|os.O_CREATE|syscall.O_CLOEXEC, 0o600)
		if err == nil {
			err = flock(s.lock)
		}
		if err != nil {
			t.Fatalf("connrefuse: cannot lock %s.lock: %v", s.path, err)
		}
	}
	st, err := os.Stat(s.path)
	if err == nil {
		s.mode = st.Mode().Perm()
		s.before, err = os.ReadFile(s.path)
	}
	if err != nil {
		s.unlock()
		t.Fatalf("connrefuse: cannot read the rules file: %v", err)
	}
	if parent != nil {
		s.entries = append([]string(nil), parent.entries...)
	}
	probe.once.Do(func() { probe.err = s.probe() })
	if probe.err != nil {
		s.unlock()
		t.Fatalf("connrefuse: %v", probe.err)
	}
	mu.Lock()
	sessions[t.Name()] = s
	mu.Unlock()
	t.Cleanup(func() {
		mu.Lock()
		delete(sessions, t.Name())
		mu.Unlock()
		if err := s.restore(); err != nil {
			t.Errorf("connrefuse: the rules before the test could not be put back: %v", err)
		}
		s.unlock()
	})
	return s
}

func flock(f *os.File) error {
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX)
		if err != syscall.EINTR {
			return err
		}
	}
}

func (s *session) unlock() {
	if s.lock != nil {
		s.lock.Close() // and with it the flock
		s.lock = nil
	}
}

// restore puts back the file as it was before the test.
func (s *session) restore() error {
	if s.restored {
		return nil
	}
	s.restored = true
	return s.write(s.before, false)
}

// write replaces the rules file with text (renamed into place, so no
// process reads half a file) and runs connrefuse reload: once it has
// returned, the very next connect of every process of the run decides
// with text. With reset, the counters of its rules start from zero.
func (s *session) write(text []byte, reset bool) error {
	f, err := os.CreateTemp(filepath.Dir(s.path), filepath.Base(s.path)+".tmp*")
	if err != nil {
		return err
	}
	_, err = f.Write(text)
	if err == nil {
		err = f.Chmod(s.mode)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), s.path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	args := []string{"reload", s.path}
	if reset {
		args = append(args, "--reset")
	}
	var out bytes.Buffer
	c := exec.Command(s.cmd, args...)
	c.Stdout, c.Stderr = &out, &out
	// The wait: the rules are in force once reload has bumped the
	// generation every process reads at its next connect.
	if err := c.Run(); err != nil {
		return fmt.Errorf("connrefuse reload %s: %v: %s", s.path, err, strings.TrimSpace(out.String()))
	}
	return nil
}

// probe: a connect a rule refuses is refused, so connects of this process
// are decided by connrefuse (under connrefuse run without --seccomp, Go's
// raw system calls pass unseen).
func (s *session) probe() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("the probe: %v", err)
	}
	defer l.Close()
	text := "version = 1;\nlog: { syslog = false; level = \"none\"; };\nrules = ( " +
		Rule("refuse", l.Addr().String(), Name("connrefuse-go-probe")) + " );\n"
	err = s.write([]byte(text), false)
	if err == nil {
		var c net.Conn
		c, err = net.Dial("tcp", l.Addr().String())
		if err == nil && strings.Contains(os.Getenv("LD_PRELOAD"), "connrefuse") {
			c.Close()
			err = fmt.Errorf("a connect that a rule refuses connected: this process is under connrefuse run "+
				"without --seccomp, and Go makes raw system calls the preload library does not see: %s", howToRun)
		} else if err == nil {
			c.Close()
			err = fmt.Errorf("a connect that a rule refuses connected: the rules written to %s were not in "+
				"force after connrefuse reload returned", s.path)
		} else if !isRefused(err) {
			err = fmt.Errorf("the probe connect: %v", err)
		} else {
			err = nil
		}
	}
	if rerr := s.write(s.before, false); err == nil && rerr != nil {
		err = rerr
	}
	return err
}

func isRefused(err error) bool {
	var errno syscall.Errno
	for e := err; e != nil; {
		if en, ok := e.(syscall.Errno); ok {
			errno = en
			break
		}
		u, ok := e.(interface{ Unwrap() error })
		if !ok {
			break
		}
		e = u.Unwrap()
	}
	return errno == syscall.ECONNREFUSED
}

// apply puts entries in force for the test: the rules file becomes them
// alone, their counters start from zero.
func (s *session) apply(t testing.TB, entries []string) {
	t.Helper()
	for _, e := range entries {
		if strings.Contains(e, "version") && len(entries) > 1 {
			t.Fatalf("connrefuse: a whole rules file (with version) cannot be combined with other rules")
		}
	}
	if err := s.write([]byte(wrap(entries)), true); err != nil {
		t.Fatalf("connrefuse: %v", err)
	}
	s.entries = entries
}

// Add puts one more rule (an entry of rules = ( ... ), see Rule) in force
// until the end of the test, beside those the test applied before.
func Add(t testing.TB, entry string) {
	t.Helper()
	s := begin(t)
	s.apply(t, append(append([]string(nil), s.entries...), entry))
}

// Refuse refuses connects to dst ("127.0.0.1:5432", "[::1]:80",
// "10.0.0.0/8") until the end of the test: connrefuse.First(3) for the
// first three attempts only.
func Refuse(t testing.TB, dst string, opts ...Option) {
	t.Helper()
	Add(t, Rule("refuse", dst, opts...))
}

// Fail fails connects to dst with errno until the end of the test.
func Fail(t testing.TB, dst string, errno syscall.Errno, opts ...Option) {
	t.Helper()
	Add(t, FailRule(dst, errno, opts...))
}

// Drop makes connects to dst hang, as behind a firewall that drops them,
// until the end of the test.
func Drop(t testing.TB, dst string, opts ...Option) {
	t.Helper()
	Add(t, Rule("drop", dst, opts...))
}

// Set makes rules the test's rules until its end: the entries of
// rules = ( ... ), or a whole rules file when the text has a version.
func Set(t testing.TB, rules string) {
	t.Helper()
	begin(t).apply(t, []string{rules})
}

// With puts rules (entries, see Rule) in force beside the test's for the
// call of fn, and the rules of before the block back after it, even when
// fn fails the test or panics.
func With(t testing.TB, fn func(), rules ...string) {
	t.Helper()
	s := begin(t)
	before, err := os.ReadFile(s.path)
	if err != nil {
		t.Fatalf("connrefuse: %v", err)
	}
	entries := s.entries
	s.apply(t, append(append([]string(nil), entries...), rules...))
	defer func() {
		if err := s.write(before, false); err != nil {
			t.Errorf("connrefuse: the rules before the block could not be put back: %v", err)
		}
		s.entries = entries
	}()
	fn()
}

type stats struct {
	Rules []struct {
		Name     string
		Scope    string
		Attempts *uint64
		Fired    *uint64
	}
}

func count(t testing.TB, name string, fired bool) int {
	t.Helper()
	s := begin(t)
	var out, errb bytes.Buffer
	c := exec.Command(s.cmd, "stats", "--json", s.path)
	c.Stdout, c.Stderr = &out, &errb
	if err := c.Run(); err != nil {
		t.Fatalf("connrefuse stats: %v: %s", err, strings.TrimSpace(errb.String()))
	}
	var st stats
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("connrefuse stats --json: %v", err)
	}
	for _, r := range st.Rules {
		if r.Name != name {
			continue
		}
		if r.Attempts == nil || r.Fired == nil {
			t.Fatalf("connrefuse: rule %q counts per process (scope %q): no counter to read", name, r.Scope)
		}
		if fired {
			return int(*r.Fired)
		}
		return int(*r.Attempts)
	}
	t.Fatalf("connrefuse: no counted rule %q (only rules with a schedule or a scope are counted)", name)
	return 0
}

// Fired is how many times the rule named name fired since the test (or
// block) applied it, over every process of the run.
func Fired(t testing.TB, name string) int { t.Helper(); return count(t, name, true) }

// Attempts is how many matching connects the rule named name saw.
func Attempts(t testing.TB, name string) int { t.Helper(); return count(t, name, false) }
