// faultclient KIND PORT [N]: a Go client of 127.0.0.1:PORT (Go's net package
// makes raw system calls, and its connects are non-blocking: the preload
// library never sees them), printing what it saw in words that do not
// depend on the port or on timing, as faultclient.py does:
//
//	raw    a request, then the bytes read and how reading ended (EOF, or
//	       the errno): a RST and a FIN differ here
//	peer   the connection's RemoteAddr (Go takes it from getpeername)
//	wait   a request, then a read with a 1 s deadline: whether it timed out
//	flood  writes without reading, with a 1 s deadline: whether they blocked
//
// and, timing what shaping changes (shapeclient.py's words; last, a line
// "ms=N"):
//
//	get    raw, timed from the request to the end
//	rtt N  N round trips of 1 byte each to an echo server, timed from the
//	       connect's end
//
// A connect that fails prints "dial: " and Go's error text.
package main

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"syscall"
	"time"
)

var req = []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n")

// errname: the errno's name, or Go's text.
func errname(err error) string {
	var no syscall.Errno
	switch {
	case errors.Is(err, io.EOF):
		return "EOF"
	case errors.Is(err, os.ErrDeadlineExceeded):
		return "timed out"
	case errors.As(err, &no):
		names := map[syscall.Errno]string{syscall.ECONNRESET: "ECONNRESET", syscall.EPIPE: "EPIPE",
			syscall.ECONNREFUSED: "ECONNREFUSED", syscall.ETIMEDOUT: "ETIMEDOUT"}
		if name, ok := names[no]; ok {
			return name
		}
	}
	return err.Error()
}

// readAll: reads until the end, then says the bytes read and how it ended.
func readAll(c net.Conn) {
	buf, total := make([]byte, 65536), 0
	for {
		n, err := c.Read(buf)
		total += n
		if err != nil {
			fmt.Printf("read %d bytes, then %s\n", total, errname(err))
			return
		}
	}
}

func main() {
	kind, port := os.Args[1], os.Args[2]
	c, err := net.Dial("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Println("dial:", err)
		return
	}
	defer c.Close()
	switch kind {
	case "peer":
		fmt.Println("peer", c.RemoteAddr())
	case "raw":
		c.Write(req)
		readAll(c)
	case "get":
		start := time.Now()
		c.Write(req)
		readAll(c)
		fmt.Printf("ms=%d\n", time.Since(start).Milliseconds())
	case "rtt":
		n, _ := strconv.Atoi(os.Args[3])
		start, one := time.Now(), []byte("x")
		for i := 0; i < n; i++ { // Go's TCP sockets are TCP_NODELAY already
			if _, err := c.Write(one); err != nil {
				fmt.Println("write:", errname(err))
				return
			}
			if _, err := io.ReadFull(c, one); err != nil {
				fmt.Println("read:", errname(err))
				return
			}
		}
		fmt.Printf("%d round trips\nms=%d\n", n, time.Since(start).Milliseconds())
	case "wait":
		c.Write(req)
		c.SetReadDeadline(time.Now().Add(time.Second))
		n, err := c.Read(make([]byte, 65536))
		if err != nil {
			fmt.Println("read", errname(err))
		} else {
			fmt.Printf("read %d bytes\n", n)
		}
	case "flood":
		c.Write(req)
		c.SetWriteDeadline(time.Now().Add(time.Second))
		chunk := make([]byte, 65536)
		for i := 0; i < 4096; i++ { // 256 MB: more than any buffers between
			if _, err := c.Write(chunk); err != nil {
				fmt.Println("writes stopped:", errname(err))
				return
			}
		}
		fmt.Println("never blocked")
	}
}
