// Worker b: port B refused, port A served, while worker a has the opposite.
package b

import (
	"testing"

	"connrefuse.dev/connrefuse"
	"connrefuse.dev/example/workers/together"
)

func TestMain(m *testing.M) { connrefuse.Main(m) }

func TestRefusesB(t *testing.T) { together.Worker(t, "b") }
