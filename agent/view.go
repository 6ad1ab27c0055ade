package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/outbox"
)

// View is an invoice as the till and the CLI see it. It marshals to the JSON
// of the till API.
type View struct {
	ID     string `json:"id"`
	Number string `json:"number"`
	SaleID string `json:"sale_id,omitempty"`
	Kind   string `json:"kind"` // VAT, UPR or KOR
	// Mode is the mode the invoice was handed over in (online, offline24,
	// offline, emergency, total_failure).
	Mode string `json:"mode"`
	P1   string `json:"p1"` // issue date, YYYY-MM-DD

	KOD1      string `json:"kod1,omitempty"`
	KOD1Label string `json:"kod1_label,omitempty"` // OFFLINE, or the KSeF number once accepted
	KOD2      string `json:"kod2,omitempty"`       // absent once accepted and in total failure
	Hash      string `json:"hash"`                 // SHA-256 of the stored XML, hex

	KSeFNumber      string    `json:"ksef_number,omitempty"`
	AcquisitionDate time.Time `json:"acquisition_date,omitzero"`
	UploadState     string    `json:"upload_state"` // queued, sending, accepted, rejected, blocked
	RejectCode      string    `json:"reject_code,omitempty"`
	RejectInfo      string    `json:"reject_info,omitempty"`
	Attempts        int       `json:"attempts,omitempty"`

	PrintState string `json:"print_state"`          // pending, printed, failed, uncertain ("" for none)
	PrintHeld  bool   `json:"print_held,omitempty"` // a print waiting for acceptance (handoutOf)
	// Confirmation: the buyer was handed a transaction confirmation, not the
	// invoice, which prints once KSeF accepts it (B2BConfirmation).
	Confirmation bool `json:"confirmation,omitempty"`
	// PrintFirstAttempt is when the receipt's print was first tried; zero
	// while it never was. PrintRepeated says a restart prints (or printed)
	// it again, marked PONOWNY WYDRUK with that time.
	PrintFirstAttempt time.Time `json:"print_first_attempt,omitzero"`
	PrintRepeated     bool      `json:"print_repeated,omitempty"`

	Deadline   string      `json:"deadline,omitempty"` // last Warsaw day for the upload
	DeadlineAt time.Time   `json:"deadline_at,omitzero"`
	Overdue    bool        `json:"overdue,omitempty"`
	Gross      ksef.Amount `json:"gross"`
	VAT        ksef.Amount `json:"vat"`
	Currency   string      `json:"currency"`

	BuyerClass string `json:"buyer_class"` // consumer, b2b, eu, foreign
	B2B        bool   `json:"b2b"`         // domestic business buyer (Polish NIP)

	CorrectionOf string   `json:"correction_of,omitempty"`
	Corrections  []string `json:"corrections,omitempty"`
	// PendingCorrections are the corrections asked for while the invoice
	// had no KSeF number, not issued yet (Correct).
	PendingCorrections    []string `json:"pending_corrections,omitempty"`
	TechnicalCorrectionOf string   `json:"technical_correction_of,omitempty"`
	CorrectedBy           string   `json:"corrected_by,omitempty"`

	IssuedAt   time.Time      `json:"issued_at"`
	Duplicates []time.Time    `json:"duplicates,omitempty"` // when each DUPLIKAT was requested
	Events     []outbox.Event `json:"events,omitempty"`
}

// Filter selects invoices for Invoices.
type Filter struct {
	// State is an upload state (queued, sending, accepted, rejected, blocked)
	// or a print state prefixed "print:" (print:pending, print:failed,
	// print:printed, print:uncertain); "" matches all.
	State string
	Limit int    // at most this many; 0 means 100, at most 1000
	After string // paging: only ids after this one
}

// Invoice returns one invoice by id.
func (a *Agent) Invoice(ctx context.Context, id string) (*View, error) {
	inv, err := a.store.Get(ctx, id)
	if err != nil {
		return nil, storeErr("get invoice", err)
	}
	return a.view(ctx, inv)
}

var uploadStates = map[string]outbox.UploadState{
	"queued": outbox.UploadQueued, "sending": outbox.UploadSending, "accepted": outbox.UploadAccepted,
	"rejected": outbox.UploadRejected, "blocked": outbox.UploadBlocked, "outside": outbox.UploadOutside,
}

var printStates = map[string]outbox.PrintState{
	"print:pending": outbox.PrintPending, "print:printed": outbox.PrintPrinted, "print:failed": outbox.PrintFailed,
	"print:uncertain": outbox.PrintUncertain,
}

// Invoices lists invoices of the live store in id order.
func (a *Agent) Invoices(ctx context.Context, f Filter) ([]View, error) {
	of := outbox.Filter{After: f.After, Limit: f.Limit}
	switch {
	case f.Limit < 0 || f.Limit > 1000:
		return nil, &RequestError{Field: "limit", Reason: "want 0..1000"}
	case f.State == "":
	case uploadStates[f.State] != "":
		of.Upload = uploadStates[f.State]
	case printStates[f.State] != "":
		of.Print = printStates[f.State]
	default:
		return nil, &RequestError{Field: "state", Reason: fmt.Sprintf("unknown state %q", f.State)}
	}
	if f.After != "" {
		if _, err := a.store.Get(ctx, f.After); err != nil && !isNotFound(err) {
			return nil, &RequestError{Field: "after", Reason: "not an invoice id"}
		}
	}
	list, err := a.store.List(ctx, of)
	if err != nil {
		return nil, storeErr("list invoices", err)
	}
	out := make([]View, 0, len(list))
	for i := range list {
		// List leaves Doc out; the view needs the snapshot.
		full, err := a.store.Get(ctx, list[i].ID)
		if err != nil {
			return nil, storeErr("get invoice", err)
		}
		v, err := a.view(ctx, full)
		if err != nil {
			return nil, err
		}
		out = append(out, *v)
	}
	return out, nil
}

func isNotFound(err error) bool {
	return err != nil && (errors.Is(err, outbox.ErrNotFound))
}

// view builds the View of a stored invoice.
func (a *Agent) view(ctx context.Context, inv *outbox.Invoice) (*View, error) {
	snap, err := decodeSnapshot(inv.Doc)
	if err != nil {
		return nil, err
	}
	now := a.now()
	v := &View{
		ID: inv.ID, Number: inv.Number, SaleID: inv.SaleID, Kind: inv.Kind,
		Mode: effectiveMode(inv, snap, a.isInflight(inv.ID)), P1: inv.P1,
		Hash:       inv.Hash.String(),
		KSeFNumber: inv.KSeFNumber, AcquisitionDate: inv.AcquiredAt,
		UploadState: string(inv.Upload), RejectCode: inv.RejectCode, RejectInfo: inv.RejectInfo,
		Attempts:   inv.Attempts,
		PrintState: string(inv.Print), PrintHeld: inv.Print == outbox.PrintPending && a.handoutOf(inv, snap, nil) == handHeld,
		DeadlineAt: inv.Deadline,
		Gross:      ksef.Amount(inv.Gross), VAT: ksef.Amount(inv.VAT),
		Currency:   snap.Invoice.Sale.Currency,
		BuyerClass: inv.BuyerClass, B2B: inv.BuyerClass == BuyerB2B,
		CorrectionOf: inv.CorrectionOf, Corrections: inv.Corrections,
		TechnicalCorrectionOf: inv.TechnicalCorrectionOf, CorrectedBy: inv.CorrectedBy,
		IssuedAt: inv.IssuedAt, Events: inv.Events,
	}
	if v.Currency == "" {
		v.Currency = "PLN"
	}
	v.KOD1, v.KOD1Label, v.KOD2 = codes(inv)
	v.Confirmation = a.handedConfirmation(inv, snap)
	if dl := inv.Deadline; !dl.IsZero() {
		v.Deadline = ksef.DateOf(dl).String()
		v.Overdue = inv.Upload != outbox.UploadAccepted && now.After(dl) && inv.CorrectedBy == ""
	}
	for _, r := range inv.Reprints {
		v.Duplicates = append(v.Duplicates, r.At)
	}
	v.PendingCorrections = a.pendingOf(ctx, inv)
	if inv.PrintJobID != "" {
		// An archived invoice's job is not in the live file: it printed long ago.
		if j, err := a.store.PrintJob(ctx, inv.PrintJobID); err == nil {
			v.PrintFirstAttempt, v.PrintRepeated = j.FirstAttempt(), j.Repeat
		}
	}
	return v, nil
}
