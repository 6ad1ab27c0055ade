package soak

import (
	"bytes"
	"fmt"
	"slices"
	"strings"

	"github.com/posagent/posagent/receipt"
)

// PrintedReceipt is one receipt found in what reached a printer.
type PrintedReceipt struct {
	Number string // the invoice number after "Nr "
	// Repeat and Duplicate say the receipt showed PONOWNY WYDRUK or DUPLIKAT
	// before its number: a mark that counts is one a receipt cut short
	// still shows.
	Repeat, Duplicate bool
	Complete          bool // a cut (GS V) follows the number
}

// Marked reports whether the receipt is marked as not the first original.
func (r PrintedReceipt) Marked() bool { return r.Repeat || r.Duplicate }

var (
	escInit   = []byte{0x1B, '@'}
	cut       = []byte{0x1D, 'V'}
	numberTag = []byte("Nr ")
	markRep   = []byte(receipt.MarkRepeat)
	markDup   = []byte(receipt.MarkDuplicate)
)

// ScanReceipts splits a printer's byte stream at each ESC @ (every receipt
// starts with one) and returns, in order, the receipts that show an invoice
// number, with the marks printed before it and whether a cut follows. It
// expects native QR codes: a raster image may hold any byte, ESC @ too.
func ScanReceipts(stream []byte) []PrintedReceipt {
	var out []PrintedReceipt
	for seg := range bytes.SplitSeq(stream, escInit) {
		i := bytes.Index(seg, numberTag)
		if i < 0 {
			continue
		}
		j := i + len(numberTag)
		for j < len(seg) && seg[j] > ' ' && seg[j] < 0x7F {
			j++
		}
		if j == i+len(numberTag) {
			continue
		}
		head := seg[:i]
		out = append(out, PrintedReceipt{
			Number:    string(seg[i+len(numberTag) : j]),
			Repeat:    bytes.Contains(head, markRep),
			Duplicate: bytes.Contains(head, markDup),
			Complete:  bytes.Contains(seg[j:], cut),
		})
	}
	return out
}

// PrintFacts is what the store and the till API say about one invoice's
// receipt at the end of a soak.
type PrintFacts struct {
	Number    string
	Printed   bool // print_state printed: its receipt (or a duplicate) left the port
	Uncertain bool // listed by GET /v1/invoices?state=print_uncertain
}

// PrintTally counts what CheckPrints found.
type PrintTally struct {
	Receipts, Originals, Repeats, Duplicates, CutShort int
	Uncertain                                          int // invoices still listed uncertain
	UncertainUnprinted                                 int // of them, never on paper in full
}

func (t PrintTally) String() string {
	return fmt.Sprintf("%d receipts on paper: %d originals, %d marked PONOWNY WYDRUK, %d DUPLIKAT, %d cut short by a kill; "+
		"%d invoices still listed uncertain (%d of them never printed in full)",
		t.Receipts, t.Originals, t.Repeats, t.Duplicates, t.CutShort, t.Uncertain, t.UncertainUnprinted)
}

// CheckPrints holds the printing promises of issue 16 over what reached the
// printer and the final state of every invoice:
//
//   - no invoice has a second receipt without a mark (PONOWNY WYDRUK or
//     DUPLIKAT before its number), cut short or not;
//   - every invoice was printed in full at least once, or is listed
//     uncertain;
//   - every invoice the store calls printed has a receipt in full;
//   - every receipt on paper belongs to an invoice.
func CheckPrints(receipts []PrintedReceipt, invoices []PrintFacts) (PrintTally, error) {
	var t PrintTally
	byNumber := map[string][]PrintedReceipt{}
	for _, r := range receipts {
		byNumber[r.Number] = append(byNumber[r.Number], r)
		t.Receipts++
		switch {
		case r.Repeat:
			t.Repeats++
		case r.Duplicate:
			t.Duplicates++
		default:
			t.Originals++
		}
		if !r.Complete {
			t.CutShort++
		}
	}
	var errs []string
	known := map[string]bool{}
	for _, inv := range invoices {
		known[inv.Number] = true
		rs := byNumber[inv.Number]
		unmarked := 0
		for _, r := range rs {
			if !r.Marked() {
				unmarked++
			}
		}
		full := slices.ContainsFunc(rs, func(r PrintedReceipt) bool { return r.Complete })
		if inv.Uncertain {
			t.Uncertain++
			if !full {
				t.UncertainUnprinted++
			}
		}
		switch {
		case unmarked > 1:
			errs = append(errs, fmt.Sprintf("%s: %d receipts without a mark (a second unmarked original)", inv.Number, unmarked))
		case !full && !inv.Uncertain:
			errs = append(errs, fmt.Sprintf("%s: never printed in full and not listed uncertain (%d receipts cut short)", inv.Number, len(rs)))
		case inv.Printed && !full:
			errs = append(errs, fmt.Sprintf("%s: the store says printed, the paper has no whole receipt", inv.Number))
		}
	}
	for n := range byNumber {
		if !known[n] {
			errs = append(errs, fmt.Sprintf("%s: on paper, but no such invoice", n))
		}
	}
	if len(errs) > 0 {
		slices.Sort(errs)
		return t, fmt.Errorf("%w: %d printing problems:\n%s", ErrInvariant, len(errs), strings.Join(errs, "\n"))
	}
	return t, nil
}
