package printer

import (
	"context"
	"io"
	"testing"
)

// discardPort accepts everything and never replies.
type discardPort struct{}

func (discardPort) Read([]byte) (int, error)    { return 0, io.EOF }
func (discardPort) Write(b []byte) (int, error) { return len(b), nil }
func (discardPort) Drain() error                { return nil }

// BenchmarkPacedWrite measures the CPU cost of chunking and handshake checks
// (the baud floor off), i.e. what pacing adds on top of the port itself.
func BenchmarkPacedWrite(b *testing.B) {
	for _, h := range []Handshake{HandshakeNone, HandshakeXONXOFF} {
		b.Run(string(h), func(b *testing.B) {
			o, err := (&Options{Handshake: h}).withDefaults()
			if err != nil {
				b.Fatal(err)
			}
			l, err := newLink(discardPort{}, &o, true)
			if err != nil {
				b.Fatal(err)
			}
			defer l.close()
			job := make([]byte, 24<<10)
			b.SetBytes(int64(len(job)))
			b.ResetTimer()
			for b.Loop() {
				if err := l.write(context.Background(), job); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
