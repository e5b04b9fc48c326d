// Worker a: port A refused, port B served, while worker b has the opposite.
package a

import (
	"os"
	"testing"

	"connrefuse.dev/connrefuse"
	"connrefuse.dev/example/workers/together"
)

func TestMain(m *testing.M) { connrefuse.Main(m) }

func TestRefusesA(t *testing.T) {
	if os.Getenv("CR_EXAMPLE_SYNC") == "" {
		t.Skip("run by tests/integration/t_helpers_go.sh (CR_EXAMPLE_SYNC, CR_PORT_A, CR_PORT_B)")
	}
	together.Check(t, "a", "b", "127.0.0.1:"+os.Getenv("CR_PORT_A"), "127.0.0.1:"+os.Getenv("CR_PORT_B"))
}
