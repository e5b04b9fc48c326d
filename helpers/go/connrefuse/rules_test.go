package connrefuse

import (
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
)

func TestRuleText(t *testing.T) {
	for _, c := range []struct{ got, want string }{
		{Rule("refuse", "127.0.0.1:5432", First(3)),
			`{ name = "127.0.0.1:5432"; dst = "127.0.0.1"; port = 5432; action = "refuse"; first = 3; }`},
		{Rule("drop", "[::1]:80", Name("api"), Every(2), Scope("process")),
			`{ name = "api"; dst = "::1"; port = 80; action = "drop"; every = 2; scope = "process"; }`},
		{FailRule("10.0.0.0/8", syscall.ETIMEDOUT, After(1), Probability(0.25), Log("none")),
			`{ name = "10.0.0.0/8"; dst = "10.0.0.0/8"; action = "fail"; errno = "ETIMEDOUT"; after = 1; probability = 0.25; log = "none"; }`},
		{Rule("refuse", "127.0.0.1:1", Name(`a "quoted" \ name`)),
			`{ name = "a \"quoted\" \\ name"; dst = "127.0.0.1"; port = 1; action = "refuse"; }`},
	} {
		if c.got != c.want {
			t.Errorf("got  %s\nwant %s", c.got, c.want)
		}
	}
}

// TestRulesCheck: what the helpers write, connrefuse check takes
// ($CONNREFUSE, or connrefuse on PATH).
func TestRulesCheck(t *testing.T) {
	cmd, err := command()
	if err != nil {
		t.Skip("no connrefuse command:", err)
	}
	path := filepath.Join(t.TempDir(), "rules.cfg")
	text := wrap([]string{
		Rule("refuse", "127.0.0.1:5432", First(3), Scope("run")),
		Rule("drop", "[::1]:80", Name("api"), Every(2), Scope("file")),
		FailRule("10.0.0.0/8", syscall.ECONNRESET, After(1), Probability(0.25), Log("all")),
	})
	if err := os.WriteFile(path, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(cmd, "check", path).CombinedOutput(); err != nil {
		t.Fatalf("connrefuse check: %v\n%s\n%s", err, out, text)
	}
}
