package escpos_test

import (
	"reflect"
	"testing"

	"github.com/posagent/posagent/escpos"
)

// FuzzStatusParser checks that decoding does not depend on how the stream is
// split into reads, and that every byte is accounted for.
func FuzzStatusParser(f *testing.F) {
	f.Add(stream, uint8(3), uint8(1), uint8(2))
	f.Add([]byte{0x10, 0x00, 0x00}, uint8(1), uint8(0), uint8(0))
	f.Add([]byte{0x12, 0x12, 0x12, 0x12, 0x00}, uint8(2), uint8(4), uint8(1))
	f.Fuzz(func(t *testing.T, data []byte, split, nRealtime, nPaper uint8) {
		setup := func(p *escpos.StatusParser) {
			for i := range int(nRealtime % 8) {
				p.ExpectRealtime(byte(i%4) + 1)
			}
			for range int(nPaper % 4) {
				p.ExpectPaperSensor()
			}
		}
		var whole, parts escpos.StatusParser
		setup(&whole)
		setup(&parts)
		want := whole.Feed(nil, data)
		var got []escpos.Reply
		step := int(split%16) + 1
		for i := 0; i < len(data); i += step {
			got = parts.Feed(got, data[i:min(i+step, len(data))])
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("split by %d: %v, whole: %v", step, got, want)
		}
		if whole.Status() != parts.Status() || whole.Paused() != parts.Paused() {
			t.Fatalf("state differs: %v/%v vs %v/%v", whole.Status(), whole.Paused(), parts.Status(), parts.Paused())
		}
		// Every byte ends up in exactly one reply, except a trailing partial ASB.
		n := 0
		for _, r := range want {
			if r.Kind == escpos.ReplyASB {
				n += 4
			} else {
				n++
			}
		}
		if n > len(data) || len(data)-n > 3 {
			t.Fatalf("replies cover %d of %d bytes", n, len(data))
		}
	})
}
