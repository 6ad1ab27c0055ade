package outbox_test

import (
	"bytes"
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

func TestIssueStoresEverything(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	req := outboxtest.Request("sale-1", t0)
	inv := mustIssue(t, s, req)
	if inv.ID != "0000000001" || inv.Number != "T1/2026/11/000001" || inv.Seq != 1 || inv.Period != "2026-11" {
		t.Errorf("Issue() = id %s number %s seq %d period %s", inv.ID, inv.Number, inv.Seq, inv.Period)
	}
	if !bytes.Contains(inv.XML, []byte(inv.Number)) || inv.Hash != outbox.HashOf(inv.XML) {
		t.Errorf("XML %q hash %s", inv.XML, inv.Hash)
	}
	if inv.Upload != outbox.UploadQueued || inv.Print != outbox.PrintPending || inv.PrintJobID == "" {
		t.Errorf("states upload %s print %s job %q", inv.Upload, inv.Print, inv.PrintJobID)
	}
	got, err := s.Get(ctx, inv.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, inv) {
		t.Errorf("Get() = %+v\nwant %+v", got, inv)
	}
	for name, q := range map[string]func() (*outbox.Invoice, error){
		"ByNumber": func() (*outbox.Invoice, error) { return s.ByNumber(ctx, inv.Number) },
		"BySaleID": func() (*outbox.Invoice, error) { return s.BySaleID(ctx, "sale-1") },
	} {
		if got, err := q(); err != nil || got.ID != inv.ID {
			t.Errorf("%s = %v, %v", name, got, err)
		}
	}
	jobs, err := s.PrintJobs(ctx, 10)
	if err != nil || len(jobs) != 1 || jobs[0].ID != inv.PrintJobID || jobs[0].InvoiceID != inv.ID {
		t.Errorf("PrintJobs() = %+v, %v", jobs, err)
	}
	// Copies: changing a returned record changes nothing stored.
	got.XML[0] = 'X'
	again, _ := s.Get(ctx, inv.ID)
	if again.XML[0] != '<' {
		t.Errorf("stored XML changed through a returned slice")
	}
	if _, err := s.Get(ctx, "0000000099"); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Get(missing) = %v, want ErrNotFound", err)
	}
	if _, err := s.Get(ctx, "abc"); !errors.Is(err, outbox.ErrInvalidID) {
		t.Errorf("Get(abc) = %v, want ErrInvalidID", err)
	}
}

func TestIssueIdempotency(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	req := outboxtest.Request("sale-1", t0)
	first := mustIssue(t, s, req)

	calls := 0
	replay := req
	replay.Now = t0.Add(time.Hour)
	replay.Build = func(string) (*outbox.Built, error) { calls++; return nil, errors.New("must not be called") }
	got, replayed, err := s.Issue(ctx, replay)
	if err != nil || !replayed {
		t.Fatalf("replay = %v, replayed %v", err, replayed)
	}
	if !reflect.DeepEqual(got, first) || calls != 0 {
		t.Errorf("replay returned %+v (build calls %d), want the stored invoice unchanged", got, calls)
	}

	conflict := req
	conflict.Fingerprint[0] ^= 1
	if _, _, err := s.Issue(ctx, conflict); !errors.Is(err, outbox.ErrIdempotencyConflict) {
		t.Errorf("different body = %v, want ErrIdempotencyConflict", err)
	}
	// The stored fingerprint matched as the alternative one: a record bound
	// to a raw body before keys were bound to the canonical form.
	alt := conflict
	alt.AltFingerprint = req.Fingerprint
	if got, replayed, err := s.Issue(ctx, alt); err != nil || !replayed || got.ID != first.ID {
		t.Errorf("replay by AltFingerprint = %v, replayed %v, want the stored invoice", err, replayed)
	}
	alt.AltFingerprint[1] ^= 1
	if _, _, err := s.Issue(ctx, alt); !errors.Is(err, outbox.ErrIdempotencyConflict) {
		t.Errorf("neither fingerprint matches = %v, want ErrIdempotencyConflict", err)
	}
	next := mustIssue(t, s, outboxtest.Request("sale-2", t0))
	if next.Seq != 2 {
		t.Errorf("next seq = %d, want 2 (replays consume no numbers)", next.Seq)
	}
}

func TestIssueFailureRollsBack(t *testing.T) {
	boom := errors.New("signer unavailable")
	tests := []struct {
		name  string
		build outbox.BuildFunc
		want  error
	}{
		{"build error", func(string) (*outbox.Built, error) { return nil, boom }, boom},
		{"nil built", func(string) (*outbox.Built, error) { return nil, nil }, outbox.ErrInvalidRequest},
		{"empty XML", func(string) (*outbox.Built, error) { return &outbox.Built{Mode: "online", Kind: "VAT"}, nil }, outbox.ErrInvalidRequest},
		{"no mode", func(string) (*outbox.Built, error) { return &outbox.Built{XML: []byte("<a/>"), Kind: "VAT"}, nil }, outbox.ErrInvalidRequest},
	}
	s := outboxtest.MustOpen(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := outboxtest.Request("sale-"+tt.name, t0)
			req.Build = tt.build
			if _, _, err := s.Issue(ctx, req); !errors.Is(err, tt.want) {
				t.Fatalf("Issue() = %v, want %v", err, tt.want)
			}
			if _, err := s.BySaleID(ctx, req.SaleID); !errors.Is(err, outbox.ErrNotFound) {
				t.Errorf("sale stored after a failed issue: %v", err)
			}
		})
	}
	inv := mustIssue(t, s, outboxtest.Request("ok", t0))
	if inv.Number != "T1/2026/11/000001" {
		t.Errorf("number after failures = %s, want T1/2026/11/000001 (none consumed)", inv.Number)
	}
}

func TestIssueBadRequest(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	long := string(bytes.Repeat([]byte("k"), outbox.MaxSaleIDLen+1))
	tests := []struct {
		name  string
		edit  func(*outbox.IssueRequest)
		field string
	}{
		{"empty sale", func(r *outbox.IssueRequest) { r.SaleID = "" }, "SaleID"},
		{"long sale", func(r *outbox.IssueRequest) { r.SaleID = long }, "SaleID"},
		{"zero time", func(r *outbox.IssueRequest) { r.Now = time.Time{} }, "Now"},
		{"no build", func(r *outbox.IssueRequest) { r.Build = nil }, "Build"},
		{"bad correction id", func(r *outbox.IssueRequest) { r.CorrectionOf = "x" }, "CorrectionOf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := outboxtest.Request("s", t0)
			tt.edit(&req)
			_, _, err := s.Issue(ctx, req)
			var re *outbox.RequestError
			if !errors.As(err, &re) || re.Field != tt.field {
				t.Fatalf("Issue() = %v, want *RequestError on %s", err, tt.field)
			}
		})
	}
	req := outboxtest.Request("s", t0)
	req.Series.Format = "{terminal}"
	if _, _, err := s.Issue(ctx, req); !errors.Is(err, outbox.ErrInvalidSeries) {
		t.Errorf("Issue(bad series) = %v, want ErrInvalidSeries", err)
	}
	req = outboxtest.Request("s", t0)
	req.CorrectionOf = "0000000077"
	if _, _, err := s.Issue(ctx, req); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("Issue(correction of a missing invoice) = %v, want ErrNotFound", err)
	}
}

func TestNumberingPeriods(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	yearly := outbox.Series{Terminal: "T1", Format: "R/{yyyy}/{seq}", Reset: outbox.ResetYearly}
	steps := []struct {
		at     time.Time
		series outbox.Series
		want   string
	}{
		{t0, outboxtest.Series, "T1/2026/11/000001"},
		{t0, outboxtest.Series, "T1/2026/11/000002"},
		{time.Date(2026, 11, 30, 23, 30, 0, 0, time.UTC), outboxtest.Series, "T1/2026/12/000001"}, // Warsaw: 1 Dec
		{time.Date(2026, 12, 31, 22, 59, 0, 0, time.UTC), outboxtest.Series, "T1/2026/12/000002"},
		{time.Date(2026, 12, 31, 23, 0, 0, 0, time.UTC), outboxtest.Series, "T1/2027/01/000001"},
		{t0, yearly, "R/2026/1"},
		{time.Date(2026, 12, 31, 22, 0, 0, 0, time.UTC), yearly, "R/2026/2"},
	}
	for i, st := range steps {
		req := outboxtest.Request(fmt.Sprintf("s%d", i), st.at)
		req.Series = st.series
		if got := mustIssue(t, s, req).Number; got != st.want {
			t.Errorf("step %d: number %s, want %s", i, got, st.want)
		}
	}
	// A new format that collides with numbers already issued is refused.
	req := outboxtest.Request("collide", t0)
	req.Series = outbox.Series{Terminal: "T9", Format: "R/2026/{seq}"}
	if _, _, err := s.Issue(ctx, req); !errors.Is(err, outbox.ErrDuplicateNumber) {
		t.Errorf("colliding number = %v, want ErrDuplicateNumber", err)
	}
}

func TestIssueConcurrent(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	const workers, each = 8, 15
	var wg sync.WaitGroup
	numbers := make(chan string, workers*each)
	for w := range workers {
		wg.Go(func() {
			for i := range each {
				inv, _, err := s.Issue(ctx, outboxtest.Request(fmt.Sprintf("w%d-%d", w, i), t0))
				if err != nil {
					t.Error(err)
					return
				}
				numbers <- inv.Number
			}
		})
	}
	wg.Wait()
	close(numbers)
	seen := map[string]bool{}
	for n := range numbers {
		if seen[n] {
			t.Errorf("number %s issued twice", n)
		}
		seen[n] = true
	}
	for i := 1; i <= workers*each; i++ {
		if n := fmt.Sprintf("T1/2026/11/%06d", i); !seen[n] {
			t.Errorf("number %s missing", n)
		}
	}
}

func TestStoreFull(t *testing.T) {
	opts := &outbox.Options{MaxSize: 1 << 20, Headroom: 256 << 10}
	s := outboxtest.MustOpen(t, opts)
	var issued []*outbox.Invoice
	var full error
	for i := range 500 {
		req := outboxtest.Request(fmt.Sprintf("s%d", i), t0)
		req.Build = noisyBuild(16 << 10)
		inv, _, err := s.Issue(ctx, req)
		if err != nil {
			full = err
			break
		}
		issued = append(issued, inv)
	}
	if !errors.Is(full, outbox.ErrStoreFull) {
		t.Fatalf("Issue when full = %v, want ErrStoreFull", full)
	}
	if len(issued) < 10 {
		t.Fatalf("only %d invoices fit in 1 MiB", len(issued))
	}
	used, limit, err := s.Size()
	t.Logf("%d invoices of 16 KiB fit; %d of %d bytes used; full: %v", len(issued), used, limit, full)
	if err != nil || used > limit {
		t.Errorf("Size() = %d, %d, %v", used, limit, err)
	}
	// The queue still moves: every stored invoice can be sent, accepted with a
	// UPO, and printed, inside the headroom.
	upo := bytes.Repeat([]byte("u"), 2<<10)
	for _, inv := range issued {
		if err := s.MarkSending(ctx, inv.ID, "SES"); err != nil {
			t.Fatalf("MarkSending when full: %v", err)
		}
		if err := s.MarkAccepted(ctx, inv.ID, outbox.Acceptance{KSeFNumber: "KSEF-" + inv.ID, UPO: upo}); err != nil {
			t.Fatalf("MarkAccepted when full: %v", err)
		}
		if err := s.MarkPrinted(ctx, inv.PrintJobID); err != nil {
			t.Fatalf("MarkPrinted when full: %v", err)
		}
	}
	// Past the hard cap even a transition fails cleanly, as ErrStoreFull, and
	// changes nothing.
	huge := noise(2<<20, 1) // incompressible: compression must not let it fit
	if err := s.AttachUPO(ctx, issued[0].ID, huge); !errors.Is(err, outbox.ErrStoreFull) {
		t.Errorf("AttachUPO beyond the cap = %v, want ErrStoreFull", err)
	}
	// Nothing was dropped; the accepted queue no longer holds its drain
	// reserve, so a small sale fits again.
	if _, _, err := s.Issue(ctx, outboxtest.Request("late", t0)); err != nil {
		t.Errorf("Issue after the queue was accepted = %v, want it to fit", err)
	}
	for _, inv := range issued {
		got, err := s.Get(ctx, inv.ID)
		if err != nil || got.Upload != outbox.UploadAccepted || !bytes.Equal(got.XML, inv.XML) || !bytes.Equal(got.UPO, upo) {
			t.Fatalf("Get(%s): err %v, or its upload state, XML or UPO differ", inv.ID, err)
		}
	}
	// A bigger cap lets sales continue with the next number.
	s.Close()
	s2, err := outbox.Open(s.Path(), &outbox.Options{MaxSize: 4 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer s2.Close()
	inv := mustIssue(t, s2, outboxtest.Request("after", t0))
	if want := fmt.Sprintf("T1/2026/11/%06d", len(issued)+2); inv.Number != want {
		t.Errorf("number after raising the cap = %s, want %s", inv.Number, want)
	}
}

// noise returns n deterministic bytes that do not compress.
func noise(n int, seed byte) []byte {
	b := make([]byte, n)
	rng := rand.New(rand.NewChaCha8([32]byte{seed}))
	for i := range b {
		b[i] = byte(rng.Uint32())
	}
	return b
}

// noisyBuild is outboxtest.Build with pad bytes of XML that do not compress,
// so that sizes at rest are the sizes given.
func noisyBuild(pad int) outbox.BuildFunc {
	build := outboxtest.Build(0, t0.Add(time.Hour))
	return func(number string) (*outbox.Built, error) {
		b, err := build(number)
		if err == nil {
			b.XML = append(b.XML, noise(pad, byte(len(number)))...)
		}
		return b, err
	}
}

// TestRoomFullAgreesWithIssue fills a store invoice by invoice: Room.Full is
// false exactly while Issue still stores a sale, so doctor (which reports
// Room) and Issue never disagree.
func TestRoomFullAgreesWithIssue(t *testing.T) {
	s := outboxtest.MustOpen(t, &outbox.Options{MaxSize: 1 << 20})
	for i := range 1000 {
		room, err := s.Room()
		if err != nil {
			t.Fatal(err)
		}
		req := outboxtest.Request(fmt.Sprintf("s%d", i), t0)
		req.Build = noisyBuild(8 << 10)
		_, _, err = s.Issue(ctx, req)
		full := errors.Is(err, outbox.ErrStoreFull)
		switch {
		case err != nil && !full:
			t.Fatalf("sale %d: %v", i, err)
		case room.Full() && !full:
			t.Fatalf("sale %d: Issue = %v although Room() = %+v is full", i, err, room)
		case room.Fits(16<<10) && full: // the sale takes about 8 KiB at rest
			t.Fatalf("sale %d: Issue = %v although Room() = %+v fits 16 KiB", i, err, room)
		case full:
			if after, _ := s.Room(); !after.Full() && after.Fits(16<<10) {
				t.Errorf("after ErrStoreFull, Room() = %+v still fits a sale", after)
			}
			t.Logf("full after %d sales: %+v", i, room)
			return
		}
	}
	t.Fatal("1 MiB store never filled")
}

func TestRoomOfFile(t *testing.T) {
	tests := []struct {
		name     string
		size     int64
		opts     *outbox.Options
		full     bool
		capacity int64
	}{
		{"empty file, defaults", 32 << 10, nil, false, 240 << 20},
		{"at a 16 MiB cap", 16 << 20, &outbox.Options{MaxSize: 16 << 20}, true, 16 << 20},
		{"headroom left", 12 << 20, &outbox.Options{MaxSize: 16 << 20}, false, 16 << 20},
		{"inside the headroom", 15 << 20, &outbox.Options{MaxSize: 16 << 20}, true, 16 << 20},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := outbox.RoomOfFile(tt.size, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			if r.Full() != tt.full || r.Capacity != tt.capacity || r.Used != tt.size {
				t.Errorf("RoomOfFile(%d) = %+v, Full %v; want Full %v, capacity %d", tt.size, r, r.Full(), tt.full, tt.capacity)
			}
		})
	}
	if _, err := outbox.RoomOfFile(1, &outbox.Options{MaxSize: 1}); !errors.Is(err, outbox.ErrInvalidRequest) {
		t.Errorf("RoomOfFile with MaxSize 1 = %v, want ErrInvalidRequest", err)
	}
}
