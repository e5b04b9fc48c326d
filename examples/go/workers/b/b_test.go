// Worker b: port B refused, port A served, while worker a has the opposite.
package b

import (
	"os"
	"testing"

	"connrefuse.dev/connrefuse"
	"connrefuse.dev/example/workers/together"
)

func TestMain(m *testing.M) { connrefuse.Main(m) }

func TestRefusesB(t *testing.T) {
	if os.Getenv("CR_EXAMPLE_SYNC") == "" {
		t.Skip("run by tests/integration/t_helpers_go.sh (CR_EXAMPLE_SYNC, CR_PORT_A, CR_PORT_B)")
	}
	together.Check(t, "b", "a", "127.0.0.1:"+os.Getenv("CR_PORT_B"), "127.0.0.1:"+os.Getenv("CR_PORT_A"))
}
