// Package together is the meeting point of the two worker packages (a and
// b), run at the same time by tests/integration/t_helpers_go.sh with
// opposite rules. Each package's test binary has a rules file of its own
// (connrefuse.Main): both are inside their rules at once. Run both under
// one connrefuse run --seccomp -c FILE (CR_EXAMPLE_SHARED set), they share
// FILE, and the helper's lock makes them take turns: each finds the other
// waiting for FILE's lock or done, never inside its rules.
package together

import (
	"bufio"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"connrefuse.dev/connrefuse"
)

func mark(t *testing.T, name string) {
	if err := os.WriteFile(filepath.Join(os.Getenv("CR_EXAMPLE_SYNC"), name), nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

func exists(name string) bool {
	_, err := os.Stat(filepath.Join(os.Getenv("CR_EXAMPLE_SYNC"), name))
	return err == nil
}

// lockWaiter: some process waits for the flock of path (/proc/locks lists
// a waiter with "->").
func lockWaiter(path string) bool {
	var st syscall.Stat_t
	if syscall.Stat(path, &st) != nil {
		return false
	}
	f, err := os.Open("/proc/locks")
	if err != nil {
		return false
	}
	defer f.Close()
	ino := fmt.Sprintf(":%d ", st.Ino)
	for s := bufio.NewScanner(f); s.Scan(); {
		if l := s.Text(); strings.Contains(l, "->") && strings.Contains(l, "FLOCK") && strings.Contains(l, ino) {
			return true
		}
	}
	return false
}

func connects(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err == nil {
		c.Close()
		return true
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		panic(err)
	}
	return false
}

// Worker me ("a" or "b"): its port (CR_PORT_A or CR_PORT_B) refused and
// the other's served, 200 times, while the other worker is inside its
// opposite rules (or, sharing one rules file, waits for it).
func Worker(t *testing.T, me string) {
	if os.Getenv("CR_EXAMPLE_SYNC") == "" {
		t.Skip("run by tests/integration/t_helpers_go.sh (CR_EXAMPLE_SYNC, CR_PORT_A, CR_PORT_B)")
	}
	other := map[string]string{"a": "b", "b": "a"}[me]
	port := func(w string) string { return "127.0.0.1:" + os.Getenv("CR_PORT_"+strings.ToUpper(w)) }
	refused, served := port(me), port(other)
	t.Cleanup(func() { // runs last
		if t.Failed() {
			mark(t, me+".failed")
		}
	})
	connrefuse.Refuse(t, refused, connrefuse.Log("none"))
	// Out before the helper's cleanup undoes the rules and lets the other in.
	t.Cleanup(func() { mark(t, me+".out") })
	mark(t, me+".in")
	shared := os.Getenv("CR_EXAMPLE_SHARED") != ""
	lock := os.Getenv("CONNREFUSE_CONFIG") + ".lock"
	deadline := time.Now().Add(60 * time.Second) // a lost peer fails, it does not hang
	for {
		if exists(other + ".failed") {
			t.Fatalf("the other worker (%s) failed", other)
		}
		in := exists(other+".in") && !exists(other+".out")
		if in && shared {
			t.Fatalf("%s is inside its rules at the same time, on the same rules file", other)
		}
		if in || shared && (exists(other+".out") || lockWaiter(lock)) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other worker (%s) never came", other)
		}
		time.Sleep(10 * time.Millisecond)
	}
	for i := 0; i < 200; i++ {
		if connects(refused) {
			t.Fatalf("connect %d to %s connected: its rule is not in force", i, refused)
		}
		if !connects(served) {
			t.Fatalf("connect %d to %s refused: the other worker's rule is in force here", i, served)
		}
	}
	mark(t, me+".out")
	if !shared {
		// Both inside at once: wait until the other is done too.
		for !exists(other+".out") && !exists(other+".failed") {
			if time.Now().After(deadline) {
				t.Fatalf("the other worker (%s) never finished", other)
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
}
