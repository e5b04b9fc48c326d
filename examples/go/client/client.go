// Package client is the code under test: a small client with retry logic.
package client

import (
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// Fetch returns the server's greeting and the attempt that got it,
// trying again while the connect is refused.
func Fetch(addr string, tries int) (string, int, error) {
	for attempt := 1; attempt <= tries; attempt++ {
		c, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if errors.Is(err, syscall.ECONNREFUSED) {
			continue
		}
		if err != nil {
			return "", attempt, err
		}
		c.SetReadDeadline(time.Now().Add(5 * time.Second))
		b, err := io.ReadAll(c)
		c.Close()
		return string(b), attempt, err
	}
	return "", tries, fmt.Errorf("gave up after %d attempts: %w", tries, syscall.ECONNREFUSED)
}
