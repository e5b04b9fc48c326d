// goclient PORT...: net.Dial("tcp", "127.0.0.1:PORT") for each port (with
// DIAL_TIMEOUT_MS set, net.DialTimeout); prints "PORT connected" or "PORT "
// and the error text, as Go reports it. NET=udp: a connected UDP socket
// that sends a byte and reads the answer, or the error the kernel reports. Go's net package makes raw system
// calls: the preload library never sees them.
package main

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"time"
)

func main() {
	for _, port := range os.Args[1:] {
		timeout, _ := strconv.Atoi(os.Getenv("DIAL_TIMEOUT_MS"))
		network := os.Getenv("NET")
		if network == "" {
			network = "tcp"
		}
		c, err := net.DialTimeout(network, "127.0.0.1:"+port, time.Duration(timeout)*time.Millisecond)
		if err == nil && network == "udp" {
			// An ICMP error to a send on loopback is there before the read.
			c.SetReadDeadline(time.Now().Add(time.Minute))
			if _, err = c.Write([]byte("x")); err == nil {
				_, err = c.Read(make([]byte, 1))
			}
			if err != nil {
				c.Close()
			}
		}
		if err != nil {
			fmt.Println(port, err)
			continue
		}
		c.Close()
		fmt.Println(port, "connected")
	}
}
