// goclient PORT...: net.Dial("tcp", "127.0.0.1:PORT") for each port; prints
// "PORT connected" or "PORT " and the error text, as Go reports it. Go's net
// package makes raw system calls: the preload library never sees them.
package main

import (
	"fmt"
	"net"
	"os"
)

func main() {
	for _, port := range os.Args[1:] {
		c, err := net.Dial("tcp", "127.0.0.1:"+port)
		if err != nil {
			fmt.Println(port, err)
			continue
		}
		c.Close()
		fmt.Println(port, "connected")
	}
}
