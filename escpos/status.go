package escpos

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// Real-time status classes for DLE EOT n (escpos.md §2.6).
const (
	RealtimePrinter byte = 1 // drawer, offline, FEED button
	RealtimeOffline byte = 2 // cover, paper end stop, error occurred
	RealtimeError   byte = 3 // mechanical, autocutter, unrecoverable, auto-recoverable
	RealtimePaper   byte = 4 // roll paper near-end and end sensors
)

// Flow-control bytes a printer in XON/XOFF mode sends on the RX line.
const (
	FlowXON  byte = 0x11
	FlowXOFF byte = 0x13
)

// errBadRealtimeClass is returned for a DLE EOT class outside 1–4.
var errBadRealtimeClass = errors.New("escpos: DLE EOT class must be 1..4")

// StatusQuery returns the real-time status request DLE EOT n (10 04 n).
// It panics if n is not one of the Realtime* classes: a wrong class is a
// programming error, and the printer would ignore or misread it.
func StatusQuery(n byte) []byte {
	if n < RealtimePrinter || n > RealtimePaper {
		panic(errBadRealtimeClass)
	}
	return []byte{0x10, 0x04, n}
}

// PaperSensorQuery returns GS r 1 (1D 72 31). The printer answers it only
// after it has processed every preceding byte, which makes it a job-end marker.
func PaperSensorQuery() []byte { return []byte{0x1D, 0x72, 0x31} }

// ASBEnable returns GS a n (1D 61 n), which turns Automatic Status Back on for
// the events in mask (0x0F = drawer, online, error, paper); 0 turns it off.
func ASBEnable(mask byte) []byte { return []byte{0x1D, 0x61, mask} }

// Status is what a printer has reported about itself. Each reply updates only
// the fields it carries; the zero value is a healthy, idle printer.
type Status struct {
	Offline         bool // DLE EOT 1 bit 3, ASB byte 1 bit 3
	CoverOpen       bool // DLE EOT 2 bit 2, ASB byte 1 bit 5
	PaperNearEnd    bool // DLE EOT 4 bits 2–3, ASB byte 3 bits 0–1, GS r 1 bits 0–1
	PaperOut        bool // DLE EOT 4 bits 5–6, DLE EOT 2 bit 5, ASB byte 3 bits 2–3, GS r 1 bits 2–3
	DrawerHigh      bool // drawer kick-out connector pin 3 is high
	FeedPressed     bool // the FEED button is held
	PaperFeeding    bool // paper is being fed by the FEED button
	WaitingRecovery bool // waiting for online recovery
	ErrorOccurred   bool // DLE EOT 2 bit 6: some error stopped printing
	MechanicalError bool // recoverable mechanical error (e.g. head lifted)
	CutterError     bool // autocutter error
	Unrecoverable   bool // unrecoverable error: needs a power cycle or service
	AutoRecoverable bool // auto-recoverable error such as head over-temperature
}

// Ready reports whether the printer can take a job: online, cover closed,
// paper present and no error. Paper near end is only a warning.
func (s Status) Ready() bool {
	return !s.Offline && !s.CoverOpen && !s.PaperOut && !s.ErrorOccurred &&
		!s.MechanicalError && !s.CutterError && !s.Unrecoverable && !s.AutoRecoverable
}

// String lists the set flags, or "ok".
func (s Status) String() string {
	var f []string
	add := func(on bool, name string) {
		if on {
			f = append(f, name)
		}
	}
	add(s.Offline, "offline")
	add(s.CoverOpen, "cover-open")
	add(s.PaperOut, "paper-out")
	add(s.PaperNearEnd, "paper-near-end")
	add(s.ErrorOccurred, "error")
	add(s.MechanicalError, "mechanical-error")
	add(s.CutterError, "cutter-error")
	add(s.Unrecoverable, "unrecoverable-error")
	add(s.AutoRecoverable, "auto-recoverable-error")
	add(s.WaitingRecovery, "waiting-recovery")
	add(s.DrawerHigh, "drawer-high")
	add(s.FeedPressed, "feed-pressed")
	add(s.PaperFeeding, "paper-feeding")
	if len(f) == 0 {
		return "ok"
	}
	return strings.Join(f, ",")
}

// IsRealtimeReply reports whether b has the fixed bits of a DLE EOT reply
// (0xx1xx10).
func IsRealtimeReply(b byte) bool { return b&0x93 == 0x12 }

// IsASBHeader reports whether b can start a 4-byte ASB block (0xx1xx00).
func IsASBHeader(b byte) bool { return b&0x93 == 0x10 }

// isASBBody reports whether b can be ASB byte 2–4 or a GS r reply (0xx0xxxx).
func isASBBody(b byte) bool { return b&0x90 == 0x00 }

// ApplyRealtime updates s from the reply b to DLE EOT n. It fails, leaving s
// unchanged, if n is not 1–4 or b lacks the fixed reply bits.
func (s *Status) ApplyRealtime(n, b byte) error {
	if n < RealtimePrinter || n > RealtimePaper {
		return fmt.Errorf("%w: got %d", errBadRealtimeClass, n)
	}
	if !IsRealtimeReply(b) {
		return &ReplyError{Kind: ReplyRealtime, Byte: b}
	}
	switch n {
	case RealtimePrinter:
		s.DrawerHigh = b&0x04 != 0
		s.Offline = b&0x08 != 0
		s.WaitingRecovery = b&0x20 != 0
		s.FeedPressed = b&0x40 != 0
	case RealtimeOffline:
		s.CoverOpen = b&0x04 != 0
		s.PaperFeeding = b&0x08 != 0
		// Bit 5 is "stopped by paper end"; the paper sensor (class 4) is
		// authoritative, so it only ever raises PaperOut.
		if b&0x20 != 0 {
			s.PaperOut = true
		}
		s.ErrorOccurred = b&0x40 != 0
	case RealtimeError:
		s.MechanicalError = b&0x04 != 0
		s.CutterError = b&0x08 != 0
		s.Unrecoverable = b&0x20 != 0
		s.AutoRecoverable = b&0x40 != 0
	case RealtimePaper:
		s.PaperNearEnd = b&0x0C != 0
		s.PaperOut = b&0x60 != 0
	}
	return nil
}

// ApplyASB updates s from a 4-byte Automatic Status Back block. It fails,
// leaving s unchanged, if the block lacks the fixed bits.
func (s *Status) ApplyASB(a [4]byte) error {
	if !IsASBHeader(a[0]) || !isASBBody(a[1]) || !isASBBody(a[2]) || !isASBBody(a[3]) {
		return &ReplyError{Kind: ReplyASB, Byte: a[0]}
	}
	s.DrawerHigh = a[0]&0x04 != 0
	s.Offline = a[0]&0x08 != 0
	s.CoverOpen = a[0]&0x20 != 0
	s.FeedPressed = a[0]&0x40 != 0
	s.WaitingRecovery = a[1]&0x01 != 0
	s.MechanicalError = a[1]&0x04 != 0
	s.CutterError = a[1]&0x08 != 0
	s.Unrecoverable = a[1]&0x20 != 0
	s.AutoRecoverable = a[1]&0x40 != 0
	s.PaperNearEnd = a[2]&0x03 != 0
	s.PaperOut = a[2]&0x0C != 0
	return nil
}

// ApplyPaperSensor updates s from the reply to GS r 1.
func (s *Status) ApplyPaperSensor(b byte) error {
	if !isASBBody(b) {
		return &ReplyError{Kind: ReplyPaperSensor, Byte: b}
	}
	s.PaperNearEnd = b&0x03 != 0
	s.PaperOut = b&0x0C != 0
	return nil
}

// ReplyKind names what a byte (or block) read from the printer turned out to be.
type ReplyKind uint8

// Reply kinds, in the order a StatusParser tries them.
const (
	ReplyGarbage     ReplyKind = iota // a byte that fits nothing expected
	ReplyXON                          // 0x11: the printer can take data again
	ReplyXOFF                         // 0x13: the printer's buffer is nearly full
	ReplyRealtime                     // a DLE EOT reply; Reply.Class says which n
	ReplyASB                          // a complete 4-byte ASB block
	ReplyPaperSensor                  // the GS r 1 reply
)

var replyNames = [...]string{"garbage", "XON", "XOFF", "DLE EOT", "ASB", "GS r 1"}

func (k ReplyKind) String() string {
	if int(k) < len(replyNames) {
		return replyNames[k]
	}
	return fmt.Sprintf("ReplyKind(%d)", k)
}

// Reply is one decoded unit of the printer's RX stream.
type Reply struct {
	Kind  ReplyKind
	Class byte    // DLE EOT class n for ReplyRealtime
	Data  [4]byte // the reply byte(s): Data[0] for one-byte replies, all four for ASB
}

// ReplyError reports a byte that does not carry the fixed bits of the reply
// it was decoded as.
type ReplyError struct {
	Kind ReplyKind
	Byte byte
}

func (e *ReplyError) Error() string {
	return fmt.Sprintf("escpos: byte %#02x is not a valid %s reply", e.Byte, e.Kind)
}

// StatusParser splits the RX stream of a printer into replies. It is fed
// whatever a read returned (partial ASB blocks, interleaved XON/XOFF, line
// noise) and keeps the merged Status and the flow-control state.
//
// DLE EOT and GS r replies carry no tag, so the parser must be told what was
// asked: call ExpectRealtime or ExpectPaperSensor when the query is sent.
// Replies that arrive unasked are reported as garbage and change nothing.
// A StatusParser is not safe for concurrent use.
type StatusParser struct {
	status   Status
	paused   bool   // XOFF seen and no XON since
	realtime []byte // pending DLE EOT classes, oldest first
	paperQ   int    // pending GS r 1 queries
	asb      [4]byte
	asbN     int // bytes of a partial ASB block held in asb
}

// ExpectRealtime records that DLE EOT n has been sent.
func (p *StatusParser) ExpectRealtime(n byte) { p.realtime = append(p.realtime, n) }

// ExpectPaperSensor records that GS r 1 has been sent.
func (p *StatusParser) ExpectPaperSensor() { p.paperQ++ }

// Pending reports how many queries are still unanswered.
func (p *StatusParser) Pending() int { return len(p.realtime) + p.paperQ }

// PendingRealtime reports how many DLE EOT queries are still unanswered.
func (p *StatusParser) PendingRealtime() int { return len(p.realtime) }

// PendingPaperSensor reports how many GS r 1 queries are still unanswered.
func (p *StatusParser) PendingPaperSensor() int { return p.paperQ }

// Status returns the merged status so far.
func (p *StatusParser) Status() Status { return p.status }

// Paused reports whether the printer has sent XOFF and not yet XON.
func (p *StatusParser) Paused() bool { return p.paused }

// Reset forgets pending queries and any partial ASB block, e.g. after the
// input buffer was flushed. The merged status and flow state are kept.
func (p *StatusParser) Reset() {
	p.realtime = p.realtime[:0]
	p.paperQ = 0
	p.asbN = 0
}

// ResetFlow clears the XOFF state, e.g. on a new connection.
func (p *StatusParser) ResetFlow() { p.paused = false }

// Feed decodes data and appends the replies to dst. Partial ASB blocks are
// kept for the next call, so the result does not depend on how the stream
// was split into reads.
func (p *StatusParser) Feed(dst []Reply, data []byte) []Reply {
	for _, b := range data {
		dst = p.feedByte(dst, b)
	}
	return dst
}

func (p *StatusParser) feedByte(dst []Reply, b byte) []Reply {
	// XON/XOFF may be interleaved even inside an ASB block.
	switch b {
	case FlowXON:
		p.paused = false
		return append(dst, Reply{Kind: ReplyXON, Data: [4]byte{b}})
	case FlowXOFF:
		p.paused = true
		return append(dst, Reply{Kind: ReplyXOFF, Data: [4]byte{b}})
	}
	if p.asbN > 0 {
		if isASBBody(b) {
			p.asb[p.asbN] = b
			p.asbN++
			if p.asbN < 4 {
				return dst
			}
			p.asbN = 0
			_ = p.status.ApplyASB(p.asb) // all four bytes were checked above
			return append(dst, Reply{Kind: ReplyASB, Data: p.asb})
		}
		// A broken block: report what was held as garbage, then look at b afresh.
		for _, g := range p.asb[:p.asbN] {
			dst = append(dst, Reply{Kind: ReplyGarbage, Data: [4]byte{g}})
		}
		p.asbN = 0
	}
	switch {
	case IsRealtimeReply(b) && len(p.realtime) > 0:
		n := p.realtime[0]
		p.realtime = p.realtime[1:]
		_ = p.status.ApplyRealtime(n, b) // n was validated by the bit test and the queue
		return append(dst, Reply{Kind: ReplyRealtime, Class: n, Data: [4]byte{b}})
	case IsASBHeader(b):
		p.asb[0] = b
		p.asbN = 1
		return dst
	case isASBBody(b) && p.paperQ > 0:
		p.paperQ--
		_ = p.status.ApplyPaperSensor(b)
		return append(dst, Reply{Kind: ReplyPaperSensor, Data: [4]byte{b}})
	}
	return append(dst, Reply{Kind: ReplyGarbage, Data: [4]byte{b}})
}

// StatusReader decodes replies from an io.Reader, one at a time. Read errors
// (including timeouts) are returned as they come; the parser state survives
// them, so a caller may call Next again after a timeout.
type StatusReader struct {
	r      io.Reader
	Parser StatusParser
	buf    [64]byte
	queue  []Reply
}

// NewStatusReader returns a StatusReader reading from r.
func NewStatusReader(r io.Reader) *StatusReader { return &StatusReader{r: r} }

// Next returns the next reply. It reads from the underlying reader only when
// no decoded reply is queued.
func (sr *StatusReader) Next() (Reply, error) {
	for len(sr.queue) == 0 {
		n, err := sr.r.Read(sr.buf[:])
		sr.queue = sr.Parser.Feed(sr.queue, sr.buf[:n])
		if len(sr.queue) > 0 {
			break // deliver data first; the error recurs on the next read
		}
		if err != nil {
			return Reply{}, err
		}
	}
	r := sr.queue[0]
	sr.queue = sr.queue[1:]
	return r, nil
}
