// goclient PORT...: net.Dial("tcp", "127.0.0.1:PORT") for each port (with
// DIAL_TIMEOUT_MS set, net.DialTimeout); prints "PORT connected" or "PORT "
// and the error text, as Go reports it. Go's net package makes raw system
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
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+port, time.Duration(timeout)*time.Millisecond)
		if err != nil {
			fmt.Println(port, err)
			continue
		}
		c.Close()
		fmt.Println(port, "connected")
	}
}
