package printer_test

import (
	"bytes"
	"context"
	"os"
	"testing"
	"time"

	"github.com/posagent/posagent/printer"
)

// FuzzVirtualScan checks that the virtual printer answers the same queries
// however the host splits its writes, and records every byte once.
func FuzzVirtualScan(f *testing.F) {
	f.Add([]byte{0x10, 0x04, 0x01, 'a', 0x1D, 0x72, 0x31, 0x1D, 0x61, 0x0F}, uint8(1))
	f.Add([]byte{0x10, 0x10, 0x04, 0x04, 0x1D}, uint8(2))
	f.Fuzz(func(t *testing.T, data []byte, split uint8) {
		run := func(step int) ([]byte, []byte) {
			var rec bytes.Buffer
			v := printer.NewVirtual(&rec)
			v.SetFaults(printer.Faults{PaperNearEnd: true})
			p, err := v.Open(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < len(data); i += step {
				p.Write(data[i:min(i+step, len(data))])
			}
			p.(printer.ReadTimeouter).SetReadTimeout(time.Nanosecond)
			var replies []byte
			buf := make([]byte, 256)
			for {
				n, err := p.Read(buf)
				replies = append(replies, buf[:n]...)
				if err == os.ErrDeadlineExceeded || n == 0 {
					break
				}
			}
			return rec.Bytes(), replies
		}
		recAll, repAll := run(max(len(data), 1))
		recSplit, repSplit := run(int(split%8) + 1)
		if !bytes.Equal(recAll, data) || !bytes.Equal(recSplit, data) {
			t.Fatalf("recorded bytes differ from written")
		}
		if !bytes.Equal(repAll, repSplit) {
			t.Fatalf("replies depend on write split: % x vs % x", repAll, repSplit)
		}
	})
}
