package config

import (
	"fmt"
	"time"
)

// DefaultPath is where the service looks for its configuration.
const DefaultPath = "/etc/posagent/posagent.toml"

// Defaults applied by [Default] and therefore by [Parse] for keys left out.
const (
	DefaultCountry   = "PL"
	DefaultNumbering = "{terminal}/{yyyy}/{mm}/{seq:06}"
	DefaultReset     = "monthly"
	// DefaultAuth is certificate (XAdES) login: KSeF tokens authenticate only
	// until 2026-12-31 (ksef.TokenAuthEnd).
	DefaultAuth           = "xades"
	DefaultContextType    = "Nip"
	DefaultKSeFTimeout    = 30 * time.Second
	DefaultBaud           = 9600
	DefaultDataBits       = 8
	DefaultParity         = "none"
	DefaultStopBits       = 1
	DefaultHandshake      = "dtrdsr"
	DefaultProfile        = "default"
	DefaultPaper          = 80
	DefaultQR             = "auto"
	DefaultListen         = "127.0.0.1:8080"
	DefaultMaxBody        = Size(1 << 20)
	DefaultStoreDir       = "/var/lib/posagent"
	DefaultCapMB          = 256
	DefaultRetentionDays  = 30
	DefaultHeadroomMB     = 64
	DefaultMode           = "offline-first"
	DefaultOnlineBudget   = 3 * time.Second
	DefaultB2BOffline     = "confirmation"
	DefaultBatchThreshold = 100
	DefaultUploadInterval = 30 * time.Second
	DefaultLogLevel       = "info"
	DefaultLogFormat      = "auto"
	// DefaultReprintWindow is printer.reprint_window: how old a receipt a
	// restart finds unfinished may be and still print (marked as repeated
	// if it may have reached the paper); older ones are parked uncertain.
	DefaultReprintWindow = 2 * time.Minute
)

// Config is the whole configuration file. Field comments give each key's allowed
// values; the TOML key is the field's toml tag.
type Config struct {
	Seller   Seller   `toml:"seller"`
	Terminal Terminal `toml:"terminal"`
	KSeF     KSeF     `toml:"ksef"`
	Printer  Printer  `toml:"printer"`
	Till     Till     `toml:"till"`
	Store    Store    `toml:"store"`
	Policy   Policy   `toml:"policy"`
	Calendar Calendar `toml:"calendar"`
	Certs    Certs    `toml:"certs"`
	Log      Log      `toml:"log"`
	Metrics  Metrics  `toml:"metrics"`
}

// Seller is the taxpayer that issues the invoices (Podmiot1).
type Seller struct {
	NIP          string `toml:"nip"`           // required: 10 digits with a valid check digit
	Name         string `toml:"name"`          // required: full name, at most 512 characters
	AddressLine1 string `toml:"address_line1"` // required: at most 512 characters
	AddressLine2 string `toml:"address_line2"` // optional: at most 512 characters
	Country      string `toml:"country"`       // ISO 3166 alpha-2 code; default PL
	// CashAccounting: the seller settles VAT by the cash method (art. 21
	// ust. 1 or art. 19a ust. 5 pkt 1 ustawy o VAT); every invoice says
	// "metoda kasowa" (FA(3) P_16=1). Default false.
	CashAccounting bool `toml:"cash_accounting"`
	// MarginScheme is the margin procedure of the seller's margin rows
	// (vat_rate "marza"): "" (none, the default), travel (art. 119),
	// used_goods, art or antiques (art. 120).
	MarginScheme string `toml:"margin_scheme"`
}

// Terminal identifies this till and how it numbers its invoices.
type Terminal struct {
	ID string `toml:"id"` // required: 1-32 of A-Z a-z 0-9 . _ -
	// Numbering is the invoice number pattern: {terminal}, {yyyy}, {yy}, {mm},
	// {dd} and exactly one {seq} or {seq:0N} (zero-padded to N digits, N 1-12).
	Numbering string `toml:"numbering"`
	Reset     string `toml:"reset"` // when {seq} restarts at 1: never, monthly or yearly
	Place     string `toml:"place"` // optional place of issue (P_1M)
}

// KSeF is how the agent reaches KSeF.
type KSeF struct {
	Environment     string   `toml:"environment"`      // required: test, demo or prod
	URL             string   `toml:"url"`              // optional API base URL override (https, or http on loopback)
	Auth            string   `toml:"auth"`             // xades or token; default xades (tokens end 2026-12-31)
	TokenFile       string   `toml:"token_file"`       // file with the KSeF token (or POSAGENT_KSEF_TOKEN)
	ContextType     string   `toml:"context_type"`     // Nip, InternalId or NipVatUe; default Nip
	ContextValue    string   `toml:"context_value"`    // default: seller.nip
	AvailabilityURL string   `toml:"availability_url"` // optional availability feed URL
	Timeout         Duration `toml:"timeout"`          // per request, 1s-5m; default 30s
}

// Printer is the receipt printer and its link.
type Printer struct {
	// Port is a device path (/dev/ttyUSB0, COM3), "tcp://host:9100",
	// "file:/absolute/path" or "virtual".
	Port      string `toml:"port"`
	Baud      int    `toml:"baud"`      // serial only: 1200 … 230400; default 9600
	DataBits  int    `toml:"data_bits"` // serial only: 7 or 8; default 8
	Parity    string `toml:"parity"`    // serial only: none, odd or even; default none
	StopBits  int    `toml:"stop_bits"` // serial only: 1 or 2; default 1
	Handshake string `toml:"handshake"` // serial only: dtrdsr, xonxoff or none; default dtrdsr
	Profile   string `toml:"profile"`   // printer profile id from the capabilities data; default "default"
	Paper     int    `toml:"paper"`     // paper width in mm: 58 or 80; default 80
	QR        string `toml:"qr"`        // native, raster or auto; default auto
	// Codepage overrides the profile's ESC t number for Polish text (0-255);
	// nil keeps the profile's choice.
	Codepage *int `toml:"codepage,omitempty"`
	// PrintOnAcceptance prints the invoice of a buyer handed a transaction
	// confirmation (policy.b2b_offline) as soon as KSeF accepts it; without
	// it the invoice is printed on reprint. Default false.
	PrintOnAcceptance bool `toml:"print_on_acceptance"`
	// ReprintWindow: after a restart, an unfinished receipt younger than this
	// prints (marked PONOWNY WYDRUK if it may have reached the paper), an
	// older one is parked uncertain; 1s-1h, default 2m.
	ReprintWindow Duration `toml:"reprint_window"`
}

// Till is the local HTTP API the till program calls.
type Till struct {
	Listen    string `toml:"listen"`     // host:port; default 127.0.0.1:8080
	TokenFile string `toml:"token_file"` // bearer token file; required when listen is not loopback
	MaxBody   Size   `toml:"max_body"`   // request body limit, 1KiB-64MiB; default 1MiB
}

// Metrics is an optional listener serving only GET /metrics, for a fleet's
// Prometheus: its token reads counts and can neither issue nor read invoices,
// and the till API stays on loopback.
type Metrics struct {
	Listen    string `toml:"listen"`     // host:port; empty (default): off, /metrics is on the till API only
	TokenFile string `toml:"token_file"` // bearer token file; required when listen is not loopback
}

// Store is the durable invoice store.
type Store struct {
	Dir           string `toml:"dir"`            // absolute data directory; default /var/lib/posagent
	CapMB         int    `toml:"cap_mb"`         // store size cap, 16-1536 MB; default 256
	RetentionDays int    `toml:"retention_days"` // keep accepted invoices locally, 7-3650 days; default 30
	HeadroomMB    int    `toml:"headroom_mb"`    // free disk to keep beyond the store, 0-4096 MB; default 64
}

// Policy decides how sales are issued and uploaded.
type Policy struct {
	Mode         string   `toml:"mode"`          // offline-first or online-first; default offline-first
	OnlineBudget Duration `toml:"online_budget"` // online-first wait for a KSeF number, 100ms-30s; default 3s
	// B2BOffline is what a buyer with a Polish NIP is handed for an invoice
	// issued in offline24 or offline (KSeF unavailability), which the law
	// lets it receive only through KSeF: confirmation (a transaction
	// confirmation at once, the invoice after KSeF accepts it), handover (the
	// offline invoice, as for any buyer) or hold (nothing until accepted).
	// Default confirmation.
	B2BOffline string `toml:"b2b_offline"`
	// B2BOfflineHandover is the deprecated bool B2BOffline replaces: true
	// reads as handover, false as hold, with a warning (Deprecations). It
	// goes in the next release; setting both keys is an error.
	B2BOfflineHandover *bool    `toml:"b2b_offline_handover,omitempty"`
	BatchThreshold     int      `toml:"batch_threshold"` // backlog size that switches to a batch session, 1-10000; default 100
	UploadInterval     Duration `toml:"upload_interval"` // how often the uploader wakes, 1s-1h; default 30s
	// UploadTotalFailure is the explicit opt-in to send to KSeF the invoices
	// issued in an announced total failure, which the law does not require
	// (they are then sent with offlineMode=true, stored ones included).
	// Default false: they are kept, listed and exported, not sent.
	UploadTotalFailure bool `toml:"upload_total_failure"`
}

// Calendar overrides the built-in Polish public holidays.
type Calendar struct {
	Add    []Date `toml:"add"`    // extra non-business days
	Remove []Date `toml:"remove"` // built-in holidays to treat as business days
}

// Certs locates the key material's protection.
type Certs struct {
	PassphraseFile string `toml:"passphrase_file"`  // file with the key passphrase (or POSAGENT_KEY_PASSPHRASE)
	MachineKeyFile string `toml:"machine_key_file"` // file with a machine key that protects keys at rest
	// AutoRenew enrolls a new KSeF certificate 30 days before the installed
	// one expires (needs ksef.auth = xades), within KSeF's limits; default true.
	AutoRenew bool `toml:"auto_renew"`
}

// Log is the service log.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn or error; default info
	Format string `toml:"format"` // text, json or auto; default auto
}

// Deprecations lists the deprecated keys the configuration uses, each with
// what replaces it, for the service to log as warnings.
func (c *Config) Deprecations() []string {
	var out []string
	if h := c.Policy.B2BOfflineHandover; h != nil {
		out = append(out, fmt.Sprintf("policy.b2b_offline_handover = %v is deprecated and goes in the next release: "+
			"write policy.b2b_offline = %q instead", *h, handoverPolicy(*h)))
	}
	return out
}

// handoverPolicy is the policy.b2b_offline the deprecated bool stands for.
func handoverPolicy(handover bool) string {
	if handover {
		return "handover"
	}
	return "hold"
}

// Default returns a configuration with every default filled in. It is not valid
// by itself: seller, terminal id, KSeF environment and printer port must be set.
func Default() *Config {
	return &Config{
		Seller:   Seller{Country: DefaultCountry},
		Terminal: Terminal{Numbering: DefaultNumbering, Reset: DefaultReset},
		KSeF: KSeF{
			Auth:        DefaultAuth,
			ContextType: DefaultContextType,
			Timeout:     Duration(DefaultKSeFTimeout),
		},
		Printer: Printer{
			Baud:      DefaultBaud,
			DataBits:  DefaultDataBits,
			Parity:    DefaultParity,
			StopBits:  DefaultStopBits,
			Handshake: DefaultHandshake,
			Profile:   DefaultProfile,
			Paper:     DefaultPaper,
			QR:        DefaultQR,

			ReprintWindow: Duration(DefaultReprintWindow),
		},
		Till: Till{Listen: DefaultListen, MaxBody: DefaultMaxBody},
		Store: Store{
			Dir:           DefaultStoreDir,
			CapMB:         DefaultCapMB,
			RetentionDays: DefaultRetentionDays,
			HeadroomMB:    DefaultHeadroomMB,
		},
		Policy: Policy{
			Mode:           DefaultMode,
			OnlineBudget:   Duration(DefaultOnlineBudget),
			B2BOffline:     DefaultB2BOffline,
			BatchThreshold: DefaultBatchThreshold,
			UploadInterval: Duration(DefaultUploadInterval),
		},
		Certs: Certs{AutoRenew: true},
		Log:   Log{Level: DefaultLogLevel, Format: DefaultLogFormat},
	}
}
