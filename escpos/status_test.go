package escpos_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"reflect"
	"testing"
	"testing/iotest"

	"github.com/posagent/posagent/escpos"
)

func TestStatusApplyRealtime(t *testing.T) {
	tests := []struct {
		name string
		n, b byte
		want escpos.Status
	}{
		{"printer idle", 1, 0x12, escpos.Status{}},
		{"drawer high", 1, 0x16, escpos.Status{DrawerHigh: true}},
		{"offline", 1, 0x1A, escpos.Status{Offline: true}},
		{"feed pressed", 1, 0x52, escpos.Status{FeedPressed: true}},
		{"cover open", 2, 0x16, escpos.Status{CoverOpen: true}},
		{"stopped by paper end", 2, 0x32, escpos.Status{PaperOut: true}},
		{"error occurred", 2, 0x52, escpos.Status{ErrorOccurred: true}},
		{"cutter error", 3, 0x1A, escpos.Status{CutterError: true}},
		{"unrecoverable", 3, 0x32, escpos.Status{Unrecoverable: true}},
		{"auto-recoverable", 3, 0x52, escpos.Status{AutoRecoverable: true}},
		{"mechanical", 3, 0x16, escpos.Status{MechanicalError: true}},
		{"paper ok", 4, 0x12, escpos.Status{}},
		{"paper near end", 4, 0x1E, escpos.Status{PaperNearEnd: true}},
		{"no paper", 4, 0x72, escpos.Status{PaperOut: true}},
		{"no paper, near end too", 4, 0x7E, escpos.Status{PaperOut: true, PaperNearEnd: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got escpos.Status
			if err := got.ApplyRealtime(tt.n, tt.b); err != nil {
				t.Fatalf("ApplyRealtime(%d, %#x) error: %v", tt.n, tt.b, err)
			}
			if got != tt.want {
				t.Errorf("ApplyRealtime(%d, %#x) = %v, want %v", tt.n, tt.b, got, tt.want)
			}
		})
	}
}

func TestStatusApplyRejects(t *testing.T) {
	s := escpos.Status{Offline: true}
	var re *escpos.ReplyError
	if err := s.ApplyRealtime(1, 0x00); !errors.As(err, &re) || re.Byte != 0 {
		t.Errorf("ApplyRealtime(1, 0) = %v, want *ReplyError", err)
	}
	if err := s.ApplyRealtime(5, 0x12); err == nil {
		t.Error("ApplyRealtime(5, 0x12) = nil, want error")
	}
	if err := s.ApplyASB([4]byte{0x12, 0, 0, 0}); !errors.As(err, &re) {
		t.Errorf("ApplyASB(bad header) = %v, want *ReplyError", err)
	}
	if err := s.ApplyPaperSensor(0x80); !errors.As(err, &re) {
		t.Errorf("ApplyPaperSensor(0x80) = %v, want *ReplyError", err)
	}
	if want := (escpos.Status{Offline: true}); s != want {
		t.Errorf("status after rejected replies = %v, want %v", s, want)
	}
}

func TestStatusApplyASB(t *testing.T) {
	tests := []struct {
		name string
		asb  [4]byte
		want escpos.Status
	}{
		{"healthy", [4]byte{0x10, 0, 0, 0}, escpos.Status{}},
		{"cover open offline", [4]byte{0x38, 0, 0, 0}, escpos.Status{CoverOpen: true, Offline: true}},
		{"cutter", [4]byte{0x10, 0x08, 0, 0}, escpos.Status{CutterError: true}},
		{"near end", [4]byte{0x10, 0, 0x03, 0}, escpos.Status{PaperNearEnd: true}},
		{"paper end", [4]byte{0x18, 0, 0x0F, 0}, escpos.Status{Offline: true, PaperNearEnd: true, PaperOut: true}},
		{"unrecoverable", [4]byte{0x10, 0x20, 0, 0}, escpos.Status{Unrecoverable: true}},
		{"drawer feed", [4]byte{0x54, 0x01, 0, 0}, escpos.Status{DrawerHigh: true, FeedPressed: true, WaitingRecovery: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got escpos.Status
			if err := got.ApplyASB(tt.asb); err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("ApplyASB(% x) = %v, want %v", tt.asb, got, tt.want)
			}
		})
	}
}

func TestStatusReady(t *testing.T) {
	if !(escpos.Status{PaperNearEnd: true, DrawerHigh: true}).Ready() {
		t.Error("near end + drawer should be ready")
	}
	for _, s := range []escpos.Status{{Offline: true}, {CoverOpen: true}, {PaperOut: true}, {CutterError: true}, {Unrecoverable: true}} {
		if s.Ready() {
			t.Errorf("%v.Ready() = true, want false", s)
		}
	}
}

func TestStatusQueries(t *testing.T) {
	if got, want := escpos.StatusQuery(escpos.RealtimePaper), []byte{0x10, 0x04, 0x04}; !bytes.Equal(got, want) {
		t.Errorf("StatusQuery(4) = % x, want % x", got, want)
	}
	if got, want := escpos.PaperSensorQuery(), []byte{0x1D, 0x72, 0x31}; !bytes.Equal(got, want) {
		t.Errorf("PaperSensorQuery() = % x, want % x", got, want)
	}
	if got, want := escpos.ASBEnable(0x0F), []byte{0x1D, 0x61, 0x0F}; !bytes.Equal(got, want) {
		t.Errorf("ASBEnable(0x0F) = % x, want % x", got, want)
	}
	defer func() {
		if recover() == nil {
			t.Error("StatusQuery(0) did not panic")
		}
	}()
	escpos.StatusQuery(0)
}

func kinds(rs []escpos.Reply) []string {
	var out []string
	for _, r := range rs {
		switch r.Kind {
		case escpos.ReplyRealtime:
			out = append(out, fmt.Sprintf("%v%d=%02x", r.Kind, r.Class, r.Data[0]))
		case escpos.ReplyASB:
			out = append(out, fmt.Sprintf("ASB=% x", r.Data))
		default:
			out = append(out, fmt.Sprintf("%v=%02x", r.Kind, r.Data[0]))
		}
	}
	return out
}

func TestStatusParserFeed(t *testing.T) {
	tests := []struct {
		name     string
		realtime []byte // DLE EOT classes asked, in order
		paper    int    // GS r 1 queries asked
		in       []byte
		want     []string
		status   escpos.Status
		paused   bool
		pending  int
	}{
		{
			name: "four realtime replies", realtime: []byte{1, 2, 3, 4},
			in:     []byte{0x12, 0x16, 0x12, 0x1E},
			want:   []string{"DLE EOT1=12", "DLE EOT2=16", "DLE EOT3=12", "DLE EOT4=1e"},
			status: escpos.Status{CoverOpen: true, PaperNearEnd: true},
		},
		{
			name: "unasked realtime is garbage", in: []byte{0x12},
			want: []string{"garbage=12"},
		},
		{
			name: "xoff inside asb", in: []byte{0x18, 0x13, 0x00, 0x0C, 0x11, 0x00},
			want:   []string{"XOFF=13", "XON=11", "ASB=18 00 0c 00"},
			status: escpos.Status{Offline: true, PaperOut: true},
		},
		{
			name: "xoff leaves paused", in: []byte{0x11, 0x13},
			want: []string{"XON=11", "XOFF=13"}, paused: true,
		},
		{
			name: "broken asb then realtime", realtime: []byte{4},
			in:     []byte{0x10, 0x00, 0x72},
			want:   []string{"garbage=10", "garbage=00", "DLE EOT4=72"},
			status: escpos.Status{PaperOut: true},
		},
		{
			name: "paper sensor and garbage", paper: 1,
			in:   []byte{0xFF, 0x80, 0x00},
			want: []string{"garbage=ff", "garbage=80", "GS r 1=00"},
		},
		{
			name: "paper sensor near end", paper: 2, realtime: []byte{1},
			in:     []byte{0x03, 0x12},
			want:   []string{"GS r 1=03", "DLE EOT1=12"},
			status: escpos.Status{PaperNearEnd: true}, pending: 1,
		},
		{
			name: "nul noise without query", in: []byte{0x00, 0x00},
			want: []string{"garbage=00", "garbage=00"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var p escpos.StatusParser
			for _, n := range tt.realtime {
				p.ExpectRealtime(n)
			}
			for range tt.paper {
				p.ExpectPaperSensor()
			}
			got := kinds(p.Feed(nil, tt.in))
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Feed(% x) = %q, want %q", tt.in, got, tt.want)
			}
			if got := p.Status(); got != tt.status {
				t.Errorf("Status() = %v, want %v", got, tt.status)
			}
			if got := p.Paused(); got != tt.paused {
				t.Errorf("Paused() = %v, want %v", got, tt.paused)
			}
			if got := p.Pending(); got != tt.pending {
				t.Errorf("Pending() = %d, want %d", got, tt.pending)
			}
		})
	}
}

// stream is a realistic RX stream: replies to DLE EOT 1,2,4 with XON/XOFF
// and noise interleaved, an ASB block, and a GS r 1 reply.
var stream = []byte{0x13, 0x12, 0xFF, 0x16, 0x11, 0x18, 0x00, 0x13, 0x0C, 0x00, 0x11, 0x1E, 0x00}

func expectStream(p *escpos.StatusParser) {
	p.ExpectRealtime(1)
	p.ExpectRealtime(2)
	p.ExpectRealtime(4)
	p.ExpectPaperSensor()
}

func TestStatusReaderPartialReads(t *testing.T) {
	var ref escpos.StatusParser
	expectStream(&ref)
	want := kinds(ref.Feed(nil, stream))
	wrappers := map[string]func(io.Reader) io.Reader{
		"plain":    func(r io.Reader) io.Reader { return r },
		"one byte": iotest.OneByteReader,
		"half":     iotest.HalfReader,
		"data+err": iotest.DataErrReader,
	}
	for name, wrap := range wrappers {
		t.Run(name, func(t *testing.T) {
			sr := escpos.NewStatusReader(wrap(bytes.NewReader(stream)))
			expectStream(&sr.Parser)
			var got []escpos.Reply
			for {
				r, err := sr.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					t.Fatalf("Next: %v", err)
				}
				got = append(got, r)
			}
			if !reflect.DeepEqual(kinds(got), want) {
				t.Errorf("replies = %q, want %q", kinds(got), want)
			}
			if got, want := sr.Parser.Status(), ref.Status(); got != want {
				t.Errorf("Status() = %v, want %v", got, want)
			}
		})
	}
}

func TestStatusReaderTimeout(t *testing.T) {
	// An ASB block split across a timeout must survive it.
	sr := escpos.NewStatusReader(iotest.TimeoutReader(iotest.OneByteReader(bytes.NewReader([]byte{0x18, 0x00, 0x0C, 0x00}))))
	if _, err := sr.Next(); !errors.Is(err, iotest.ErrTimeout) {
		t.Fatalf("Next() error = %v, want ErrTimeout", err)
	}
	r, err := sr.Next()
	if err != nil {
		t.Fatalf("Next() after timeout: %v", err)
	}
	if r.Kind != escpos.ReplyASB || r.Data != [4]byte{0x18, 0, 0x0C, 0} {
		t.Errorf("Next() = %v % x, want ASB 18 00 0c 00", r.Kind, r.Data)
	}
	if s := sr.Parser.Status(); !s.Offline || !s.PaperOut {
		t.Errorf("Status() = %v, want offline,paper-out", s)
	}
}

func ExampleStatusParser() {
	var p escpos.StatusParser
	// The host sent DLE EOT 2 and DLE EOT 4; the printer answers, with an
	// XOFF in between because its buffer is nearly full.
	p.ExpectRealtime(escpos.RealtimeOffline)
	p.ExpectRealtime(escpos.RealtimePaper)
	for _, r := range p.Feed(nil, []byte{0x36, 0x13, 0x72}) {
		fmt.Println(r.Kind)
	}
	fmt.Println(p.Status(), p.Status().Ready(), p.Paused())
	// Output:
	// DLE EOT
	// XOFF
	// DLE EOT
	// cover-open,paper-out false true
}
