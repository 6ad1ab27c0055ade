package till

import (
	"context"
	"time"

	"github.com/posagent/posagent/ksef"
)

// Core is what the till API needs from the agent. The agent (or an adapter
// around it) implements it; tests use tilltest.Core.
//
// Errors: a Core reports a bad sale or correction as ksef.ValidationErrors, an
// unknown invoice with [ErrNotFound], an idempotency key reused with another
// body with [ErrKeyConflict], a correction of an invoice that cannot be
// corrected with [ErrNotCorrectable], an unknown mode with [ErrInvalidMode],
// an invoice without a UPO yet with [ErrNoUPO]
// and a temporary inability to store (disk full, store closing) with
// [ErrUnavailable]. Any other error is an internal error: the client sees a
// generic 500 and the error itself is only logged.
type Core interface {
	Issue(ctx context.Context, req IssueRequest) (*Issued, error)
	Invoice(ctx context.Context, id string) (*View, error)
	Invoices(ctx context.Context, f Filter) ([]View, error)
	Reprint(ctx context.Context, id string) (*View, error)
	Correct(ctx context.Context, id string, req CorrectionRequest) (*Issued, error)
	Status(ctx context.Context) (*Status, error)
	SetMode(ctx context.Context, override string) error
	// Announce records the operator's MF announcement of a KSeF
	// unavailability (offline), failure (emergency) or total failure with
	// its reference, and sets the override to its mode while it lasts.
	Announce(ctx context.Context, mode, reference string) error
	// Journal returns the announcements journal, oldest first.
	Journal(ctx context.Context) ([]Announcement, error)
	// InvoiceXML returns the invoice's stored FA(3) XML, byte for byte.
	InvoiceXML(ctx context.Context, id string) (*Document, error)
	// InvoiceUPO returns the invoice's UPO as KSeF sent it, or ErrNoUPO.
	InvoiceUPO(ctx context.Context, id string) (*Document, error)
}

// Document is a stored file of an invoice: its XML or its UPO, as stored.
type Document struct {
	ID     string
	Number string
	Data   []byte
}

// IssueRequest is a validated sale with its idempotency key. The key is
// bound to Sale as decoded (ksef.Sale.Canonical), so a re-serialized replay
// is a replay; Body is the exact request body, which a Core may also match
// (records of earlier versions were bound to it).
type IssueRequest struct {
	Key  string
	Body []byte
	Sale ksef.Sale
}

// CorrectionRequest asks for a correcting invoice (KOR) of an issued one.
// Lines are the rows after the correction; none cancels the original in full.
// Type is TypKorekty (1, 2 or 3; 0 leaves it out).
type CorrectionRequest struct {
	Key    string
	Body   []byte
	Reason string
	Type   int
	Lines  []ksef.Line
}

// Issued is the result of Issue or Correct. Replayed is true when the key had
// already been used with the same body and the stored invoice is returned.
// Pending is set instead of View when a correction waits for its original's
// KSeF number.
type Issued struct {
	View
	Replayed bool
	Pending  *PendingCorrection
}

// PendingCorrection is a correction kept until its original has its KSeF
// number: a correcting invoice of an invoice sent to KSeF is issued and sent
// only then (tryby-offline.md). It is the body of a 202 from
// POST /v1/invoices/{id}/corrections; a replay of the same key returns it
// again, or the correction (201/200) once it is issued.
type PendingCorrection struct {
	State          string    `json:"state"` // always "correction_pending"
	ID             string    `json:"pending_id"`
	Corrects       string    `json:"corrects"`
	OriginalNumber string    `json:"original_number"`
	RequestedAt    time.Time `json:"requested_at"`
	SlipPrint      string    `json:"slip_print_state"` // pending, printed, failed
}

// StatePending is PendingCorrection.State.
const StatePending = "correction_pending"

// Announcement is one entry of the announcements journal (GET /v1/journal):
// a KSeF unavailability or failure from the availability feed or recorded by
// the operator, with the attempts to reach KSeF that failed during a total
// failure.
type Announcement struct {
	ID            string     `json:"id"`
	Mode          string     `json:"mode"`          // offline, emergency or total_failure
	Start         string     `json:"start"`         // first day, YYYY-MM-DD
	End           string     `json:"end,omitempty"` // last day; absent while it lasts
	Source        string     `json:"source"`        // feed or operator
	Reference     string     `json:"reference,omitempty"`
	RecordedAt    time.Time  `json:"recorded_at"`
	EndedAt       *time.Time `json:"ended_at"`
	Probes        []Probe    `json:"probes"`
	ProbesDropped int        `json:"probes_dropped"`
}

// Probe is a run of identical failed attempts to reach KSeF.
type Probe struct {
	Target string    `json:"target"`
	Error  string    `json:"error"`
	First  time.Time `json:"first"`
	Last   time.Time `json:"last"`
	Count  int       `json:"count"`
}

// View is an invoice as the till sees it. It is also the JSON body of every
// invoice response.
type View struct {
	ID         string      `json:"id"`
	Number     string      `json:"number"`
	Kind       string      `json:"kind"` // VAT, UPR or KOR
	Corrects   string      `json:"corrects,omitempty"`
	IssueDate  ksef.Date   `json:"issue_date"`
	Currency   string      `json:"currency"`
	Gross      ksef.Amount `json:"gross"`
	VAT        ksef.Amount `json:"vat"`
	Mode       string      `json:"mode"`                 // online, offline24, offline, emergency, total_failure
	Kod1       string      `json:"kod1,omitempty"`       // empty only in total failure
	Kod1Label  string      `json:"kod1_label,omitempty"` // OFFLINE, or the KSeF number once accepted
	Kod2       string      `json:"kod2,omitempty"`       // empty in online mode
	Hash       string      `json:"hash,omitempty"`       // SHA-256 of the stored XML, hex
	Print      string      `json:"print_state"`          // none, pending, printed, failed, uncertain
	PrintHeld  bool        `json:"print_held,omitempty"` // a B2B receipt waiting for acceptance
	Upload     string      `json:"upload_state"`         // queued, sending, accepted, rejected, blocked, outside
	Deadline   *time.Time  `json:"deadline"`             // upload deadline; null when there is no obligation
	Overdue    bool        `json:"overdue,omitempty"`
	KSeFNumber string      `json:"ksef_number,omitempty"`
	Error      string      `json:"error,omitempty"` // KSeF rejection code

	// Confirmation: the buyer (a Polish NIP in offline24 or offline) was
	// handed a transaction confirmation; the invoice prints once KSeF has it.
	Confirmation bool `json:"confirmation,omitempty"`
	// PendingCorrections are the corrections waiting for this invoice's
	// KSeF number (PendingCorrection.ID).
	PendingCorrections []string `json:"pending_corrections,omitempty"`
	// PrintFirstAttempt is when the receipt's print was first tried (absent
	// while it never was); PrintRepeated is true when a restart prints it,
	// or printed it, again marked PONOWNY WYDRUK with that time.
	PrintFirstAttempt *time.Time `json:"print_first_attempt,omitempty"`
	PrintRepeated     bool       `json:"print_repeated,omitempty"`
}

// Filter selects invoices for Invoices. State is an upload state (queued,
// sending, accepted, rejected, blocked, outside: kept outside KSeF after a
// total failure), a print state (print_pending, printed, print_failed,
// print_uncertain) or empty for all. After is the id to page after.
type Filter struct {
	State string
	Limit int
	After string
}

// Filter limits.
const (
	DefaultLimit = 50
	MaxLimit     = 500
)

// States accepted by the state filter of GET /v1/invoices.
var States = []string{"queued", "sending", "accepted", "rejected", "blocked", "outside", "print_pending", "printed", "print_failed", "print_uncertain"}

// Mode overrides accepted by POST /v1/mode; "auto" clears the override.
var Modes = []string{"auto", "online", "offline24", "offline", "emergency", "total_failure"}

// AnnouncedModes are the modes POST /v1/mode takes a reference with.
var AnnouncedModes = []string{"offline", "emergency", "total_failure"}

// Status is the state of the whole agent, served by GET /v1/status and shown
// by the status page.
type Status struct {
	Now         time.Time   `json:"now"`
	Link        Link        `json:"link"`
	KSeF        KSeFState   `json:"ksef"`
	Mode        ModeState   `json:"mode"`
	Printer     Printer     `json:"printer"`
	Backlog     Backlog     `json:"backlog"`
	Certificate Certificate `json:"certificate"`
	Auth        Auth        `json:"auth"`
	Errors      []ErrorItem `json:"errors"` // the last ones, newest first; at most MaxErrors are shown
}

// MaxErrors is how many recent errors the status page shows.
const MaxErrors = 20

// Link is the network link to KSeF as the agent last saw it: State is up,
// down or unknown, Checked when the last KSeF call told.
type Link struct {
	State     string     `json:"state"`
	Checked   *time.Time `json:"checked"`
	LastError string     `json:"last_error,omitempty"`
}

// KSeFState is KSeF's availability: available, maintenance, emergency,
// total_failure or unknown.
type KSeFState struct {
	State       string `json:"state"`
	Environment string `json:"environment"`
}

// ModeState is the mode new sales are issued in and why.
type ModeState struct {
	Current  string `json:"current"`
	Override string `json:"override,omitempty"` // operator override; empty when automatic
	Policy   string `json:"policy"`             // offline-first or online-first
}

// Printer is the receipt printer's last known state: ok, paper_low,
// paper_out, cover_open, offline or error.
type Printer struct {
	State   string `json:"state"`
	Detail  string `json:"detail,omitempty"`
	Pending int    `json:"pending"` // the store's print jobs not yet printed (not the worker's queue)
	Failed  int    `json:"failed"`

	// Uncertain counts the receipts a restart could not tell printed and
	// did not print again (too old); UncertainReceipts lists the first
	// MaxUncertain of them. Reprint each as DUPLIKAT, or let it be.
	Uncertain         int                `json:"uncertain"`
	UncertainReceipts []UncertainReceipt `json:"uncertain_receipts,omitempty"`
}

// UncertainReceipt is a receipt that may or may not have reached the paper
// before a crash. FirstAttempt is absent when it was never tried.
type UncertainReceipt struct {
	ID           string     `json:"id"`
	Number       string     `json:"number"`
	IssuedAt     time.Time  `json:"issued_at"`
	FirstAttempt *time.Time `json:"first_attempt,omitempty"`
}

// Backlog is what is not yet accepted by KSeF.
type Backlog struct {
	Count            int        `json:"count"`
	EarliestDeadline *time.Time `json:"earliest_deadline"`
	Overdue          []Overdue  `json:"overdue"`
	// Exposure sums the penalty exposure of the overdue invoices, in PLN.
	Exposure ksef.Amount `json:"exposure"`
}

// Overdue is an invoice past its upload deadline and what it may cost, in
// PLN (ksef.PenaltyFor): 0 for a deadline missed before 2027-01-01, and never
// negative. Basis is the rate of art. 106ni that applies: "100% VAT",
// "18.7% gross" or "none".
type Overdue struct {
	ID       string      `json:"id"`
	Number   string      `json:"number"`
	Deadline time.Time   `json:"deadline"`
	Exposure ksef.Amount `json:"exposure"`
	Basis    string      `json:"basis,omitempty"`
}

// Certificate is the KSeF Offline certificate that signs KOD II (or, in
// Auth, the Authentication certificate).
type Certificate struct {
	Serial   string     `json:"serial,omitempty"`
	NotAfter *time.Time `json:"not_after"`
	DaysLeft int        `json:"days_left"`
	// KSeFState is what KSeF last reported: Active, Blocked (suspended),
	// Revoked or Expired; empty when unknown (never asked, or a certificate
	// KSeF did not issue).
	KSeFState string `json:"ksef_state,omitempty"`
	// Refused says why offline sales are refused now
	// (offline_certificate_invalid); empty while offline invoices are issued.
	Refused string `json:"offline_refused,omitempty"`
}

// Auth is how the agent logs in to KSeF. Tokens end on 2026-12-31: from
// 2027-01-01 only certificate (XAdES) logins work.
type Auth struct {
	Method        string       `json:"method"`                // xades, token, or unknown
	Certificate   *Certificate `json:"certificate,omitempty"` // the Authentication certificate, when installed
	FailedLogins  int          `json:"failed_logins"`
	TokensEnd     *time.Time   `json:"tokens_end,omitempty"` // for token logins: when they stop
	TokenDaysLeft int          `json:"token_days_left,omitempty"`
	Alarm         string       `json:"alarm,omitempty"`
}

// ErrorItem is one recent error, for technicians.
type ErrorItem struct {
	Time    time.Time `json:"time"`
	Source  string    `json:"source"` // ksef, printer, store, till …
	Code    string    `json:"code,omitempty"`
	Message string    `json:"message"`
}
