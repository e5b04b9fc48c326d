// Run by tests/integration/t_helpers_go.sh; go test ./client on its own
// runs it under connrefuse run --seccomp (connrefuse.Main).
package client

import (
	"errors"
	"net"
	"os"
	"syscall"
	"testing"

	"connrefuse.dev/connrefuse"
)

// server is a real local server, one port for the whole package (so that
// a rule left behind by one test would be seen by the next): says hello.
var server string

func TestMain(m *testing.M) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			c.Write([]byte("hello\n"))
			c.Close()
		}
	}()
	server = l.Addr().String()
	connrefuse.Main(m)
}

var quiet = connrefuse.Log("none")

func TestRefusedTwiceThenServed(t *testing.T) {
	connrefuse.Refuse(t, server, connrefuse.First(2), connrefuse.Name("db"), quiet)
	got, attempt, err := Fetch(server, 5)
	if err != nil || got != "hello\n" || attempt != 3 {
		t.Fatalf("Fetch: %q at attempt %d, %v; want hello at attempt 3", got, attempt, err)
	}
	if n := connrefuse.Fired(t, "db"); n != 2 {
		t.Errorf("fired %d times, want 2", n)
	}
	if n := connrefuse.Attempts(t, "db"); n != 3 {
		t.Errorf("%d attempts seen, want 3", n)
	}
}

func TestWithBlock(t *testing.T) {
	connrefuse.With(t, func() {
		if _, _, err := Fetch(server, 3); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Errorf("inside the block: %v, want refused", err)
		}
		if n := connrefuse.Fired(t, "db"); n != 3 {
			t.Errorf("fired %d times inside the block, want 3", n)
		}
	}, connrefuse.Rule("refuse", server, connrefuse.First(1000), connrefuse.Name("db"), quiet))
	if got, attempt, err := Fetch(server, 1); err != nil || attempt != 1 {
		t.Fatalf("after the block: %q at attempt %d, %v; want served at once", got, attempt, err)
	}
}

func TestTimeoutNotRetried(t *testing.T) {
	connrefuse.Fail(t, server, syscall.ETIMEDOUT, quiet)
	if _, attempt, err := Fetch(server, 5); !errors.Is(err, syscall.ETIMEDOUT) || attempt != 1 {
		t.Fatalf("attempt %d: %v; want a timeout at the first attempt, not retried", attempt, err)
	}
}

func TestFailsOnPurpose(t *testing.T) {
	if os.Getenv("CR_EXAMPLE_SKIP_FAILING") != "" {
		t.Skip("CR_EXAMPLE_SKIP_FAILING")
	}
	connrefuse.Refuse(t, server, quiet)
	if _, _, err := Fetch(server, 1); err != nil {
		t.Fatalf("refused, as this test means to be: %v", err)
	}
}

func TestRulesRestoredAfterAFailure(t *testing.T) {
	if got, attempt, err := Fetch(server, 1); err != nil || attempt != 1 {
		t.Fatalf("%q at attempt %d, %v; want served at once (a rule left behind?)", got, attempt, err)
	}
}
