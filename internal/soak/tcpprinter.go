package soak

import (
	"context"
	"errors"
	"io"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/printer"
)

// TCPPrinter is a printer.Virtual reachable over TCP, like a network
// receipt printer on port 9100 (printer.port = "tcp://" + Addr). Unplug
// closes the listener and every connection; Replug listens again on the
// same address.
type TCPPrinter struct {
	tb   testing.TB
	VP   *printer.Virtual
	Addr string
	// OnData, when set before the agent connects, sees every chunk the
	// agent writes, as it arrives (from a connection goroutine).
	OnData func([]byte)

	mu    sync.Mutex // guards ln and conns
	ln    net.Listener
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// NewTCPPrinter starts a healthy printer on a loopback port; it stops
// when the test ends.
func NewTCPPrinter(tb testing.TB) *TCPPrinter {
	tb.Helper()
	p := &TCPPrinter{tb: tb, VP: printer.NewVirtual(nil), conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	p.Addr = ln.Addr().String()
	p.serve(ln)
	tb.Cleanup(func() {
		p.Unplug()
		p.wg.Wait()
	})
	return p
}

func (p *TCPPrinter) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	p.wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			p.mu.Lock()
			p.conns[c] = true
			p.mu.Unlock()
			p.wg.Go(func() { p.bridge(c) })
		}
	})
}

// bridge shuttles bytes between a TCP connection and a virtual connection.
func (p *TCPPrinter) bridge(c net.Conn) {
	defer func() {
		c.Close()
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	port, err := p.VP.Open(context.Background())
	if err != nil {
		return
	}
	vc := port.(*printer.VirtualConn)
	_ = vc.SetReadTimeout(20 * time.Millisecond)
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		defer close(done)
		buf := make([]byte, 4096)
		for {
			n, err := c.Read(buf)
			if n > 0 {
				if p.OnData != nil {
					p.OnData(buf[:n])
				}
				if _, werr := vc.Write(buf[:n]); werr != nil {
					return
				}
			}
			if err != nil {
				return
			}
		}
	})
	buf := make([]byte, 256)
	for {
		select {
		case <-done:
			wg.Wait()
			return
		default:
		}
		n, err := vc.Read(buf)
		if n > 0 {
			if _, werr := c.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil && !errors.Is(err, io.EOF) && !isTimeout(err) {
			break
		}
	}
	c.Close()
	wg.Wait()
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout() || errors.Is(err, printer.ErrTimeout)
}

// Unplug drops every connection and stops listening.
func (p *TCPPrinter) Unplug() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
	}
}

// Replug listens again on the same address.
func (p *TCPPrinter) Replug() {
	ln, err := net.Listen("tcp", p.Addr)
	if err != nil {
		p.tb.Fatalf("replug: %v", err)
	}
	p.serve(ln)
}
