package standin

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"sync"
)

// EchoServer is a loopback TCP server that greets and echoes lines: the
// stand-in for a private host (a database behind the jumpbox) in tests and
// the demo.
type EchoServer struct {
	Addr string
	ln   net.Listener
	wg   sync.WaitGroup
}

// StartEcho listens on a free 127.0.0.1 port; banner is sent on connect.
func StartEcho(banner string) (*EchoServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &EchoServer{Addr: ln.Addr().String(), ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s.wg.Add(1)
			go func() {
				defer s.wg.Done()
				defer c.Close()
				fmt.Fprintf(c, "%s\n", banner)
				sc := bufio.NewScanner(c)
				for sc.Scan() {
					if _, err := fmt.Fprintf(c, "echo: %s\n", strings.TrimSpace(sc.Text())); err != nil {
						return
					}
				}
			}()
		}
	}()
	return s, nil
}

// Close stops accepting; open connections end when their clients go.
func (s *EchoServer) Close() { s.ln.Close() }
