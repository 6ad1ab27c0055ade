package printertest_test

import (
	"errors"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/printer/printertest"
)

func TestPlaybackOrder(t *testing.T) {
	p := printertest.NewPlayback(
		printertest.IO{R: []byte("hello")},
		printertest.IO{W: []byte{1, 2, 3}, R: []byte{9}},
	)
	p.SetReadTimeout(20 * time.Millisecond)
	buf := make([]byte, 8)
	if n, err := p.Read(buf); err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("Read = %q, %v; want hello", buf[:n], err)
	}
	if _, err := p.Read(buf); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read before the write = %v, want deadline exceeded", err)
	}
	// A write split over calls still matches.
	p.Write([]byte{1})
	if p.Done() {
		t.Fatal("Done after a partial write")
	}
	p.Write([]byte{2, 3})
	if n, err := p.Read(buf); err != nil || n != 1 || buf[0] != 9 {
		t.Fatalf("Read = % x, %v; want 09", buf[:n], err)
	}
	if err := p.Close(); err != nil {
		t.Errorf("Close() = %v", err)
	}
}

func TestPlaybackFailures(t *testing.T) {
	tests := []struct {
		name  string
		ops   []printertest.IO
		write []byte
		want  string
	}{
		{"mismatch", []printertest.IO{{W: []byte{1, 2}}}, []byte{1, 3}, "is 0x03, want 0x02"},
		{"past the end", nil, []byte{7}, "after the end"},
		{"ops left", []printertest.IO{{W: []byte{1, 2}}}, []byte{1}, "1 ops left"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := printertest.NewPlayback(tt.ops...)
			p.Write(tt.write)
			err := p.Close()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Close() = %v, want error containing %q", err, tt.want)
			}
		})
	}
	p := printertest.NewPlayback()
	p.Write([]byte{1})
	if !errors.Is(p.Err(), printertest.ErrMismatch) {
		t.Errorf("Err() = %v, want ErrMismatch", p.Err())
	}
}

func TestRecorder(t *testing.T) {
	var r printertest.Recorder
	r.Write([]byte("ab"))
	r.Write([]byte("c"))
	if got := string(r.Bytes()); got != "abc" {
		t.Errorf("Bytes() = %q, want abc", got)
	}
	if _, err := r.Read(make([]byte, 1)); err == nil {
		t.Error("Read() = nil error, want io.EOF")
	}
}

func ExamplePlayback() {
	// A printer that answers DLE EOT 4 with "paper near end".
	p := printertest.NewPlayback(printertest.IO{W: []byte{0x10, 0x04, 0x04}, R: []byte{0x1E}})
	p.Write([]byte{0x10, 0x04, 0x04})
	b := make([]byte, 1)
	p.Read(b)
	fmt.Printf("% x %v\n", b, p.Close())
	// Output: 1e <nil>
}
