package agent

import (
	"context"
	"crypto/x509"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"sync"
	"time"

	"github.com/posagent/posagent/escpos"
	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
	"github.com/posagent/posagent/receipt"
)

// Policy decides how a sale is issued when KSeF is available.
type Policy string

// Policies (DESIGN §4).
const (
	// PolicyOfflineFirst issues every sale offline24: print at once, upload
	// in the background. The default.
	PolicyOfflineFirst Policy = "offline-first"
	// PolicyOnlineFirst sends the sale at once and waits up to OnlineBudget
	// for a KSeF number; without one it falls back to offline24.
	PolicyOnlineFirst Policy = "online-first"
)

// Defaults for Options fields left zero.
const (
	DefaultOnlineBudget   = 3 * time.Second
	DefaultBatchThreshold = 50
	DefaultUploadInterval = 30 * time.Second
	DefaultProbeInterval  = time.Minute
	DefaultPollInterval   = 2 * time.Second
	DefaultPrintInterval  = 5 * time.Second
	DefaultRetryMin       = time.Second
	DefaultRetryMax       = 5 * time.Minute
	DefaultAlarmInterval  = 15 * time.Minute
	DefaultBatchMax       = ksefapi.MaxSessionInvoices
	DefaultTrickleMax     = 20
	DefaultSendGrace      = 2 * time.Minute
	DefaultPaper          = 80
	DefaultSystemInfo     = "posagent"
)

// KSeF is the part of the KSeF API client the agent uses. *ksefapi.Client and
// the ksefapitest fake satisfy it.
type KSeF interface {
	Authenticate(ctx context.Context) (*ksefapi.Tokens, error)
	OpenOnline(ctx context.Context) (*ksefapi.OnlineSession, error)
	SendInvoice(ctx context.Context, s *ksefapi.OnlineSession, xml []byte, opts ksefapi.SendOptions) (string, error)
	CloseOnline(ctx context.Context, s *ksefapi.OnlineSession) error
	InvoiceStatus(ctx context.Context, sessionRef, invoiceRef string) (*ksefapi.InvoiceStatus, error)
	AllInvoices(ctx context.Context, sessionRef string, failed bool) ([]ksefapi.InvoiceStatus, error)
	SessionStatus(ctx context.Context, ref string) (*ksefapi.SessionStatus, error)
	DownloadUPO(ctx context.Context, url string) (*ksefapi.UPO, []byte, error)
	SendBatch(ctx context.Context, invoices iter.Seq2[string, []byte], opts ksefapi.BatchOptions) (*ksefapi.BatchResult, error)
}

// Availability is the KSeF availability feed ("Latarnia"); *ksefapi.Client
// satisfies it.
type Availability interface {
	Availability(ctx context.Context) (*ksefapi.Availability, error)
}

// Printer takes print jobs; *printer.Worker satisfies it. Results come back
// through Agent.PrintResult, which the caller wires to the worker's
// printer.Options.OnResult.
type Printer interface {
	Submit(ctx context.Context, job printer.Job) error
	State() printer.State
}

var (
	_ KSeF         = (*ksefapi.Client)(nil)
	_ Availability = (*ksefapi.Client)(nil)
	_ Printer      = (*printer.Worker)(nil)
)

// Options configure an Agent. Zero values take the documented defaults.
type Options struct {
	Seller   ksef.Seller   // required: Podmiot1 of every invoice
	Terminal string        // terminal id, for logs; defaults to Series.Terminal
	Series   outbox.Series // required: the terminal's numbering series
	Place    string        // place of issue (P_1M) when the sale has none; optional

	Environment  ksef.Environment // required: selects the QR link host
	ContextType  string           // KOD II context type; default ksef.CtxNip
	ContextValue string           // KOD II context value; default the seller's NIP

	Policy         Policy        // default PolicyOfflineFirst
	OnlineBudget   time.Duration // online-first wait for a KSeF number; default 3s
	BatchThreshold int           // backlog that switches uploads to a batch session; default 50
	// B2BOffline is what a domestic business buyer (Polish NIP, not
	// VAT-exempt) is handed for an invoice issued in offline24 or offline:
	// B2BConfirmation (the default), B2BHandover or B2BHold (b2b.go).
	B2BOffline B2BPolicy
	// PrintOnAcceptance prints the invoice of a buyer handed a confirmation
	// as soon as KSeF accepts it; without it the invoice waits for a reprint.
	PrintOnAcceptance bool
	// UploadTotalFailure is the operator's explicit opt-in to send invoices
	// issued in a total failure, which the law does not require
	// (tryby-offline.md): they are then queued like any other, including
	// those already kept outside the queue (by New), and sent with
	// offlineMode=true. Off by default: they are kept, listed and exported.
	UploadTotalFailure bool

	Calendar *ksef.Calendar // default ksef.DefaultCalendar
	Profile  escpos.Profile // printer profile; zero means escpos.DefaultProfileID
	QR       receipt.QRMode // native, raster or auto
	Paper    int            // 58 or 80 (informational; the profile decides the layout); default 80
	Footer   []string       // receipt footer lines; optional

	// AuthMethod is how the KSeF client logs in, "token" or "xades", for
	// the status, the metrics and the alarm once tokens have ended
	// (ksef.TokenAuthEnd); empty leaves them out.
	AuthMethod string

	SystemInfo string           // SystemInfo of the FA(3) header; default "posagent"
	Now        func() time.Time // default time.Now
	Logger     *slog.Logger     // default discards
	Metrics    *metrics.Registry

	UploadInterval time.Duration // idle wake-up of the upload scheduler; default 30s
	ProbeInterval  time.Duration // availability feed probe; default 1m
	PollInterval   time.Duration // re-check of invoices KSeF is still processing; default 2s
	PrintInterval  time.Duration // sweep of pending and failed print jobs; default 5s
	RetryMin       time.Duration // first upload retry delay; default 1s
	RetryMax       time.Duration // cap of the jittered upload backoff; default 5m
	AlarmInterval  time.Duration // minimum gap between overdue alarms in the log; default 15m
	// LinkProbeInterval is how often, while the link to KSeF is down, a
	// cheap call (LinkProber) asks whether KSeF answers again; default 2s.
	LinkProbeInterval time.Duration
	// BatchMax is the most invoices sent in one batch session; default and
	// maximum ksefapi.MaxSessionInvoices (10 000). Their XML is streamed from
	// the store one invoice at a time, so memory does not grow with it.
	BatchMax int
	// SendGrace is how long a send with an unknown outcome may still land in
	// KSeF; until it has passed, a record missing from its session is not
	// resent. Default 2m (twice the client's HTTP timeout would be safest).
	SendGrace time.Duration
	// ReprintWindow is the age up to which a receipt a restart finds
	// unfinished is still printed (marked as a repeated print if it may have
	// reached the paper); an older one is parked uncertain. Default 2m.
	ReprintWindow time.Duration
	// StateFile, if set, keeps the mode override across restarts (JSON,
	// replaced atomically). Empty keeps it in memory only. The announced
	// periods live in the store's journal. A file written before also held
	// the periods: they are moved into an empty journal.
	StateFile string
	TempDir   string // batch ZIP parts; default os.TempDir()
}

// Deps are the parts the Agent joins. Store, KSeF, Printer and Signer are
// required; Feed is optional.
type Deps struct {
	Store   *outbox.Store
	KSeF    KSeF
	Printer Printer
	Signer  ksef.Signer // the Offline certificate for KOD II
	Feed    Availability
}

// Agent is posagent's core. It is safe for concurrent use; Run owns its
// background goroutines.
type Agent struct {
	opts    Options
	store   *outbox.Store
	api     KSeF
	printer Printer
	feed    Availability
	log     *slog.Logger
	m       *agentMetrics

	certMu sync.RWMutex         // guards signer, cert and certs
	signer ksef.Signer          // the Offline certificate
	cert   *x509.Certificate    // the Offline certificate, when the signer exposes it
	certs  map[string]CertState // by usage

	kickUpload chan struct{} // 1-slot: wake the upload scheduler
	kickPrint  chan struct{} // 1-slot: wake the print dispatcher

	mu            sync.Mutex // guards the fields below
	running       bool
	override      string
	feedStatus    ksefapi.AvailabilityStatus // "" = unknown
	feedChecked   time.Time
	anns          []outbox.Announcement // the journal: legal periods from the feed and the operator
	probes        []outbox.Probe        // failed probes of a total failure, not yet in the journal
	link          string                // "up", "down" or "" (unknown)
	linkChecked   time.Time
	errs          []ErrorEntry
	inflight      map[string]bool      // invoice ids an Issue online attempt is sending
	submitted     map[string]bool      // print job ids handed to the printer, not finished
	printRetry    map[string]time.Time // failed print job id -> when to retry
	upoPending    map[string]string    // accepted invoice id -> UPO link that failed to download
	results       []printer.JobResult  // from PrintResult, for the dispatcher
	ready         []string             // print jobs Issue or Reprint queued, dispatched first
	waiting       map[string]string    // print job id -> invoice id, held until KSeF accepts it
	leftovers     jobQueue             // print jobs fed at the printer's pace; the print loop's own
	rateLimited   time.Time            // prefer batch sessions until then (429 seen)
	archivedAt    time.Time            // last archiveNearFull run
	authed        bool
	lastAlarm     time.Time
	lastCertAlarm time.Time
	lastAuthAlarm time.Time
	authFailures  int // consecutive failed logins
	authFailed    time.Time
	lastOverdue   int

	dlMu  sync.Mutex // serialises syncDeadlines; guards dlKey
	dlKey string     // the periods the stored deadlines were last brought up to

	sessMu   sync.Mutex // guards sess and sessUsed
	sess     *ksefapi.OnlineSession
	sessUsed time.Time
}

// New validates opts and deps and returns an Agent. It performs no network
// I/O; it reads Options.StateFile when set and the store's journal, and with
// UploadTotalFailure queues the invoices kept outside KSeF.
func New(opts Options, deps Deps) (*Agent, error) {
	if deps.Store == nil {
		return nil, &OptionError{Field: "Deps.Store", Reason: "required"}
	}
	if deps.KSeF == nil {
		return nil, &OptionError{Field: "Deps.KSeF", Reason: "required"}
	}
	if deps.Printer == nil {
		return nil, &OptionError{Field: "Deps.Printer", Reason: "required"}
	}
	if deps.Signer == nil {
		return nil, &OptionError{Field: "Deps.Signer", Reason: "required (the KSeF Offline certificate signs KOD II)"}
	}
	if err := ksef.CheckNIP(opts.Seller.NIP); err != nil {
		return nil, &OptionError{Field: "Seller.NIP", Reason: "not a valid NIP"}
	}
	if opts.Seller.Name == "" {
		return nil, &OptionError{Field: "Seller.Name", Reason: "required"}
	}
	if opts.Seller.Address.Country == "" || opts.Seller.Address.Line1 == "" {
		return nil, &OptionError{Field: "Seller.Address", Reason: "country and line1 are required"}
	}
	if err := opts.Series.Validate(); err != nil {
		return nil, &OptionError{Field: "Series", Reason: err.Error()}
	}
	if !opts.Environment.Valid() {
		return nil, &OptionError{Field: "Environment", Reason: "unknown KSeF environment"}
	}
	switch opts.Policy {
	case "":
		opts.Policy = PolicyOfflineFirst
	case PolicyOfflineFirst, PolicyOnlineFirst:
	default:
		return nil, &OptionError{Field: "Policy", Reason: "want offline-first or online-first, got " + string(opts.Policy)}
	}
	switch opts.B2BOffline {
	case "":
		opts.B2BOffline = B2BConfirmation
	case B2BConfirmation, B2BHandover, B2BHold:
	default:
		return nil, &OptionError{Field: "B2BOffline", Reason: "want confirmation, handover or hold, got " + string(opts.B2BOffline)}
	}
	if opts.OnlineBudget < 0 || opts.BatchThreshold < 0 || opts.BatchMax < 0 {
		return nil, &OptionError{Field: "OnlineBudget/BatchThreshold/BatchMax", Reason: "negative"}
	}
	if opts.BatchMax > ksefapi.MaxSessionInvoices {
		return nil, &OptionError{Field: "BatchMax", Reason: fmt.Sprintf("%d exceeds the KSeF session limit %d", opts.BatchMax, ksefapi.MaxSessionInvoices)}
	}
	if opts.Paper != 0 && opts.Paper != 58 && opts.Paper != 80 {
		return nil, &OptionError{Field: "Paper", Reason: "want 58 or 80"}
	}
	if opts.Terminal == "" {
		opts.Terminal = opts.Series.Terminal
	}
	if opts.ContextType == "" {
		opts.ContextType = ksef.CtxNip
	}
	if opts.ContextValue == "" {
		opts.ContextValue = opts.Seller.NIP
	}
	if opts.Profile.ID == "" {
		p, err := escpos.LookupProfile(escpos.DefaultProfileID)
		if err != nil {
			return nil, &OptionError{Field: "Profile", Reason: err.Error()}
		}
		opts.Profile = p
	}
	if err := opts.Profile.Validate(); err != nil {
		return nil, &OptionError{Field: "Profile", Reason: err.Error()}
	}
	setDefault(&opts.OnlineBudget, DefaultOnlineBudget)
	setDefault(&opts.UploadInterval, DefaultUploadInterval)
	setDefault(&opts.ProbeInterval, DefaultProbeInterval)
	setDefault(&opts.PollInterval, DefaultPollInterval)
	setDefault(&opts.PrintInterval, DefaultPrintInterval)
	setDefault(&opts.ReprintWindow, DefaultReprintWindow)
	setDefault(&opts.RetryMin, DefaultRetryMin)
	setDefault(&opts.RetryMax, DefaultRetryMax)
	setDefault(&opts.LinkProbeInterval, DefaultLinkProbeInterval)
	setDefault(&opts.AlarmInterval, DefaultAlarmInterval)
	setDefault(&opts.SendGrace, DefaultSendGrace)
	if opts.BatchThreshold == 0 {
		opts.BatchThreshold = DefaultBatchThreshold
	}
	if opts.BatchMax == 0 {
		opts.BatchMax = DefaultBatchMax
	}
	if opts.Paper == 0 {
		opts.Paper = DefaultPaper
	}
	if opts.SystemInfo == "" {
		opts.SystemInfo = DefaultSystemInfo
	}
	if opts.Calendar == nil {
		opts.Calendar = ksef.DefaultCalendar
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	a := &Agent{
		opts:       opts,
		store:      deps.Store,
		api:        deps.KSeF,
		printer:    deps.Printer,
		signer:     deps.Signer,
		feed:       deps.Feed,
		log:        opts.Logger.With("terminal", opts.Terminal), // main names the component
		kickUpload: make(chan struct{}, 1),
		kickPrint:  make(chan struct{}, 1),
		inflight:   map[string]bool{},
		submitted:  map[string]bool{},
		printRetry: map[string]time.Time{},
		upoPending: map[string]string{},
		waiting:    map[string]string{},
		certs:      map[string]CertState{},
	}
	switch opts.AuthMethod {
	case "", "token", "xades":
	default:
		return nil, &OptionError{Field: "AuthMethod", Reason: "want token or xades, got " + opts.AuthMethod}
	}
	if err := a.loadState(); err != nil {
		return nil, &OptionError{Field: "StateFile", Reason: err.Error()}
	}
	anns, err := a.store.Announcements(context.Background())
	if err != nil {
		return nil, fmt.Errorf("agent: read the announcements journal: %w", err)
	}
	a.anns = append(a.anns, anns...)
	if opts.UploadTotalFailure {
		n, err := a.store.QueueOutside(context.Background())
		if err != nil {
			return nil, fmt.Errorf("agent: queue the invoices of a total failure (opt-in): %w", err)
		}
		if n > 0 {
			a.log.Info("invoices of a total failure queued for upload (opt-in)", "count", n)
		}
	}
	if opts.Metrics != nil {
		a.m = newMetrics(opts.Metrics)
		for _, m := range []string{"token", "xades"} {
			a.m.authMethod.With(m).Set(oneIf(m == opts.AuthMethod))
		}
	}
	a.SetSigner(deps.Signer)
	return a, nil
}

func setDefault(d *time.Duration, def time.Duration) {
	if *d <= 0 {
		*d = def
	}
}

func (a *Agent) now() time.Time { return a.opts.Now() }

func kick(c chan struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Run starts the upload scheduler, the print dispatcher and the deadline
// monitor, and blocks until ctx ends; it returns ctx.Err() after all three
// goroutines have stopped. Run may be called once.
func (a *Agent) Run(ctx context.Context) error {
	a.mu.Lock()
	if a.running {
		a.mu.Unlock()
		return ErrAlreadyRunning
	}
	a.running = true
	a.mu.Unlock()
	defer func() {
		a.mu.Lock()
		a.running = false
		a.mu.Unlock()
	}()

	a.recover(ctx)
	a.syncDeadlines(ctx)
	var wg sync.WaitGroup
	wg.Go(func() { a.uploadLoop(ctx) })
	wg.Go(func() { a.printLoop(ctx) })
	wg.Go(func() { a.monitorLoop(ctx) })
	wg.Wait()

	// Close the online session so KSeF starts its session UPO; bounded, as
	// the process is stopping.
	cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	a.closeSession(cctx)
	return ctx.Err()
}

// recover takes up what a previous run left unfinished: corrections whose
// original was accepted before a crash are issued. Invoices left sending are
// resolved by the upload scheduler, which asks KSeF before any resend; print
// jobs by the print loop (settlePrints) before it prints.
func (a *Agent) recover(ctx context.Context) {
	if n := len(a.store.Recovered().Sending); n > 0 {
		a.log.Info("resolving invoices left sending by the previous run", "count", n)
	}
	a.issueAllPending(ctx) // accepted before a crash, not yet issued
}
