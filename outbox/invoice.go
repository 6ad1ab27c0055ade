package outbox

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"slices"
	"time"
)

// UploadState is the position of an invoice in the upload lifecycle (DESIGN §3).
type UploadState string

// Upload states.
const (
	UploadQueued   UploadState = "queued"   // waiting to be sent (after NotBefore, if set)
	UploadSending  UploadState = "sending"  // handed to KSeF; outcome unknown
	UploadAccepted UploadState = "accepted" // KSeF number assigned (terminal)
	UploadRejected UploadState = "rejected" // KSeF refused it; awaits a technical correction (terminal)
	UploadBlocked  UploadState = "blocked"  // a correction waiting for its original to be accepted
	// UploadOutside: issued outside KSeF in an announced total failure,
	// which carries no obligation to send it (tryby-offline.md, "Tryb
	// awarii całkowitej"). Kept and listed, never sent unless the operator
	// opts in (QueueOutside).
	UploadOutside UploadState = "outside"
)

// drains reports whether an invoice in state s is still to be uploaded and
// accepted, so holds a drain reserve (Room).
func (s UploadState) drains() bool { return s != UploadAccepted && s != UploadOutside }

// PrintState is the state of a print job.
type PrintState string

// Print states. PrintNone means the invoice has no print job of its own (a
// technical correction: the receipt already handed out stays valid).
// PrintUncertain is a job a restart found unfinished and too old to print
// again (SettlePrints): it may or may not have reached the paper, and it is
// never printed on its own. An invoice whose original job is uncertain shows
// uncertain until a duplicate of it is printed, and printed after.
const (
	PrintNone      PrintState = ""
	PrintPending   PrintState = "pending"
	PrintPrinted   PrintState = "printed"
	PrintFailed    PrintState = "failed"
	PrintUncertain PrintState = "uncertain"
)

// uploadEdges and printEdges are the moves callers may make: any other is a
// *TransitionError. blocked -> queued is not among them: only the acceptance of
// the original makes it (release).
var (
	uploadEdges = map[UploadState][]UploadState{
		UploadQueued:  {UploadSending},
		UploadSending: {UploadAccepted, UploadRejected, UploadQueued},
		UploadOutside: {UploadQueued},
	}
	printEdges = map[PrintState][]PrintState{
		PrintPending: {PrintPrinted, PrintFailed, PrintUncertain},
		PrintFailed:  {PrintPending, PrintUncertain},
	}
)

// CanMove reports whether the upload lifecycle allows s -> to.
func (s UploadState) CanMove(to UploadState) bool { return slices.Contains(uploadEdges[s], to) }

// CanMove reports whether the print lifecycle allows s -> to.
func (s PrintState) CanMove(to PrintState) bool { return slices.Contains(printEdges[s], to) }

func (s PrintState) String() string {
	if s == PrintNone {
		return "none"
	}
	return string(s)
}

// Hash is a SHA-256 digest. It marshals as lower-case hex.
type Hash [32]byte

// HashOf returns the SHA-256 of b.
func HashOf(b []byte) Hash { return sha256.Sum256(b) }

// IsZero reports whether h is unset.
func (h Hash) IsZero() bool { return h == Hash{} }

func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// Base64 returns the standard Base64 form KSeF uses (invoiceHash, hashOfCorrectedInvoice).
func (h Hash) Base64() string { return base64.StdEncoding.EncodeToString(h[:]) }

// MarshalText implements encoding.TextMarshaler.
func (h Hash) MarshalText() ([]byte, error) { return []byte(h.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (h *Hash) UnmarshalText(b []byte) error {
	if len(b) != 64 {
		return fmt.Errorf("outbox: hash has %d hex digits, want 64", len(b))
	}
	_, err := hex.Decode(h[:], b)
	return err
}

// Event is one line of an invoice's audit log.
type Event struct {
	At   time.Time `json:"at"`
	What string    `json:"what"`
	Code string    `json:"code,omitempty"` // error or status code, when there is one
}

// Reprint records a duplicate print job requested for an invoice.
type Reprint struct {
	JobID string    `json:"job"`
	At    time.Time `json:"at"`
}

// Invoice is a stored invoice. Values returned by the Store are copies: changing
// them changes nothing stored.
type Invoice struct {
	ID       string `json:"id"`
	Number   string `json:"number"`
	Terminal string `json:"terminal"`
	Period   string `json:"period"` // numbering period, see Series.Period
	Seq      uint64 `json:"seq"`
	SaleID   string `json:"sale_id,omitempty"`
	// Fingerprint is the till's request hash stored for the idempotency check.
	Fingerprint Hash      `json:"fingerprint"`
	IssuedAt    time.Time `json:"issued_at"`

	XML        []byte    `json:"-"` // stored once, uploaded unchanged
	Hash       Hash      `json:"hash"`
	KOD1       string    `json:"kod1,omitempty"`
	KOD2       string    `json:"kod2,omitempty"`
	Mode       string    `json:"mode"`
	Deadline   time.Time `json:"deadline,omitzero"` // zero: no upload deadline
	BuyerClass string    `json:"buyer_class,omitempty"`
	Kind       string    `json:"kind"`
	P1         string    `json:"p1"`
	Gross      int64     `json:"gross"` // grosze
	VAT        int64     `json:"vat"`   // grosze
	// GrossPLN and VATPLN are Gross and VAT in PLN grosze for an invoice in
	// another currency; zero for a PLN invoice (Gross and VAT are PLN).
	GrossPLN int64  `json:"gross_pln,omitempty"`
	VATPLN   int64  `json:"vat_pln,omitempty"`
	Doc      []byte `json:"-"` // the agent's opaque snapshot for receipts

	Print      PrintState `json:"print,omitempty"` // state of the original print job
	PrintJobID string     `json:"print_job,omitempty"`
	Reprints   []Reprint  `json:"reprints,omitempty"`
	// Slips are the print jobs of the slips of corrections requested while
	// the invoice had no KSeF number (RequestCorrection).
	Slips []Reprint `json:"slips,omitempty"`

	Upload    UploadState `json:"upload"`
	Attempts  int         `json:"attempts,omitempty"`
	NotBefore time.Time   `json:"not_before,omitzero"`
	// LastSendAt is when the last send attempt started (MarkSending,
	// MarkSendingBatch): how long an unknown outcome has had to land in KSeF.
	LastSendAt time.Time `json:"last_send_at,omitzero"`
	// Batch names the batch the record was last handed to (MarkSendingBatch);
	// empty for an online send. SessionRef is filled in once KSeF has opened
	// the batch session (SetSessionRef).
	Batch      string    `json:"batch,omitempty"`
	SessionRef string    `json:"session_ref,omitempty"`
	InvoiceRef string    `json:"invoice_ref,omitempty"`
	KSeFNumber string    `json:"ksef_number,omitempty"`
	AcquiredAt time.Time `json:"acquired_at,omitzero"`
	AcceptedAt time.Time `json:"accepted_at,omitzero"` // local time of MarkAccepted; retention counts from it
	UPO        []byte    `json:"-"`
	RejectCode string    `json:"reject_code,omitempty"`
	RejectInfo string    `json:"reject_info,omitempty"`

	CorrectionOf          string   `json:"correction_of,omitempty"` // KOR: id of the corrected invoice
	Corrections           []string `json:"corrections,omitempty"`   // KOR invoices issued for this one
	TechnicalCorrectionOf string   `json:"tech_correction_of,omitempty"`
	CorrectedBy           string   `json:"corrected_by,omitempty"` // technical correction of this rejected invoice
	HashOfCorrected       Hash     `json:"hash_of_corrected,omitzero"`

	Events []Event `json:"events"`
}

func (inv *Invoice) log(at time.Time, what, code string) {
	inv.Events = append(inv.Events, Event{At: at.UTC(), What: what, Code: code})
}

// PrintJob is a request to print an invoice once: the original or a duplicate.
type PrintJob struct {
	ID          string     `json:"id"`
	InvoiceID   string     `json:"invoice"`
	Duplicate   bool       `json:"duplicate,omitempty"`
	Slip        string     `json:"slip,omitempty"` // the pending correction whose slip this prints
	State       PrintState `json:"state"`
	Attempts    int        `json:"attempts,omitempty"`
	RequestedAt time.Time  `json:"requested_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	Code        string     `json:"code,omitempty"` // last failure code
	// StartedAt is when the job's first attempt began: RecordPrint stores it
	// before the job's first byte goes to the printer, so after a crash a
	// job with it may have reached the paper and one without it has not.
	StartedAt time.Time `json:"started_at,omitzero"`
	// Repeat marks a job a restart found started and prints again
	// (SettlePrints): its receipt says it is a repeated print, with StartedAt.
	Repeat bool `json:"repeat,omitempty"`
}

// Started reports whether the job was ever tried, so it may have reached
// the paper. A failed job counts even without StartedAt (written before it
// was recorded).
func (j *PrintJob) Started() bool { return !j.StartedAt.IsZero() || j.State == PrintFailed }

// FirstAttempt is when the job was first tried: StartedAt, or for a failed
// job written before StartedAt was recorded, when it was requested; zero
// for a job never tried.
func (j *PrintJob) FirstAttempt() time.Time {
	if j.StartedAt.IsZero() && j.State == PrintFailed {
		return j.RequestedAt
	}
	return j.StartedAt
}

// Built is what the build callback returns: the invoice made with the reserved number.
type Built struct {
	XML        []byte    // FA(3) bytes; hashed and stored as given
	KOD1, KOD2 string    // QR links
	Mode       string    // online, offline24, offline, emergency, ...
	Deadline   time.Time // upload deadline; zero = none
	BuyerClass string
	P1         string // issue date, YYYY-MM-DD
	Kind       string // VAT, UPR, KOR, ...
	Gross, VAT int64  // grosze, for penalty exposure
	// GrossPLN and VATPLN are Gross and VAT in PLN for an invoice in another
	// currency (penalties are in PLN); zero for a PLN invoice.
	GrossPLN, VATPLN int64
	Doc              []byte // opaque snapshot for re-rendering receipts
	// Priority puts the invoice first in the upload queue, in the issue
	// transaction (see Store.Prioritize).
	Priority bool
	// Outside stores the invoice in UploadOutside instead of queued: issued
	// outside KSeF in a total failure, not uploaded unless opted in.
	Outside bool
	// PrintStarted records the print job started (StartedAt = the issue
	// time) in the issue transaction: for a receipt the caller hands to an
	// idle printer at once, it spares the printer's journal a transaction,
	// and an fsync, before the first byte (see RecordPrint).
	PrintStarted bool
}

// BuildFunc builds the invoice for a reserved number. It runs inside the issue
// transaction, so it must not block on I/O for long and must not call the Store.
type BuildFunc func(number string) (*Built, error)

// IssueRequest asks the Store to issue one invoice.
type IssueRequest struct {
	SaleID       string // the till's idempotency key (1-200 bytes)
	Fingerprint  Hash   // hash of the till's request body
	Series       Series
	Now          time.Time // issue time; the period comes from its Europe/Warsaw date
	CorrectionOf string    // id of the corrected invoice for a KOR, or ""
	Build        BuildFunc

	// AltFingerprint, when not zero, also matches on a replay and is never
	// stored: the agent binds keys to the canonical form of a request and
	// passes here the raw body's hash, which earlier versions stored.
	AltFingerprint Hash
}

// Acceptance is what KSeF returned for an accepted invoice.
type Acceptance struct {
	KSeFNumber string
	AcquiredAt time.Time // KSeF acquisition date
	UPO        []byte    // may be nil and attached later with AttachUPO
}
