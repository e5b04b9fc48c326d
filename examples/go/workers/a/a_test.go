// Worker a: port A refused, port B served, while worker b has the opposite.
package a

import (
	"testing"

	"connrefuse.dev/connrefuse"
	"connrefuse.dev/example/workers/together"
)

func TestMain(m *testing.M) { connrefuse.Main(m) }

func TestRefusesA(t *testing.T) { together.Worker(t, "a") }
