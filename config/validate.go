package config

import (
	"net"
	"net/netip"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/posagent/posagent/ksef"
)

// Validate checks every value and returns all problems as [Errors], or nil.
// [Parse] calls it; call it again after changing a Config in code.
func (c *Config) Validate() error {
	v := &validator{}

	// [seller]
	switch {
	case c.Seller.NIP == "":
		v.missing("seller.nip", "a 10-digit NIP")
	case !ksef.ValidNIP(c.Seller.NIP):
		v.bad("seller.nip", c.Seller.NIP, "a valid NIP (10 digits, no dashes, not starting with 0, with a correct check digit)")
	}
	v.text("seller.name", c.Seller.Name, true, 512)
	v.text("seller.address_line1", c.Seller.AddressLine1, true, 512)
	v.text("seller.address_line2", c.Seller.AddressLine2, false, 512)
	if !countryRe.MatchString(c.Seller.Country) {
		v.bad("seller.country", c.Seller.Country, "a two-letter ISO 3166 country code such as PL")
	}
	if c.Seller.MarginScheme != "" {
		v.oneOf("seller.margin_scheme", c.Seller.MarginScheme, ksef.MarginSchemes...)
	}

	// [terminal]
	switch {
	case c.Terminal.ID == "":
		v.missing("terminal.id", "1-32 of the characters A-Z a-z 0-9 . _ -")
	case !terminalRe.MatchString(c.Terminal.ID):
		v.bad("terminal.id", c.Terminal.ID, "1-32 of the characters A-Z a-z 0-9 . _ -")
	}
	v.oneOf("terminal.reset", c.Terminal.Reset, "never", "monthly", "yearly")
	if msg := checkNumbering(c.Terminal.Numbering, c.Terminal.Reset); msg != "" {
		v.bad("terminal.numbering", c.Terminal.Numbering, msg)
	}
	v.text("terminal.place", c.Terminal.Place, false, 256)

	// [ksef]
	if c.KSeF.Environment == "" {
		v.missing("ksef.environment", "one of test, demo, prod")
	} else {
		v.oneOf("ksef.environment", c.KSeF.Environment, "test", "demo", "prod")
	}
	v.url("ksef.url", c.KSeF.URL)
	v.url("ksef.availability_url", c.KSeF.AvailabilityURL)
	v.oneOf("ksef.auth", c.KSeF.Auth, "token", "xades")
	v.path("ksef.token_file", c.KSeF.TokenFile)
	if v.oneOf("ksef.context_type", c.KSeF.ContextType, "Nip", "InternalId", "NipVatUe") {
		cv := c.KSeF.ContextValue
		switch c.KSeF.ContextType {
		case "Nip":
			if cv != "" && cv != c.Seller.NIP && !ksef.ValidNIP(cv) { // an invalid seller.nip is reported once
				v.bad("ksef.context_value", cv, "a valid NIP for context_type Nip")
			}
		case "InternalId":
			if !internalIDRe.MatchString(cv) || !ksef.ValidNIP(cv[:min(10, len(cv))]) {
				v.bad("ksef.context_value", cv, "an internal identifier NIP-NNNNN (a valid NIP, a dash, 5 digits) for context_type InternalId")
			}
		case "NipVatUe":
			if !nipVatUeRe.MatchString(cv) || !ksef.ValidNIP(cv[:min(10, len(cv))]) {
				v.bad("ksef.context_value", cv, "NIP-VATUE (a valid NIP, a dash, an EU VAT number such as DE123456789) for context_type NipVatUe")
			}
		}
	}
	v.duration("ksef.timeout", c.KSeF.Timeout, time.Second, 5*time.Minute)

	// [printer]
	if c.Printer.Port == "" {
		v.missing("printer.port", `a device path (/dev/ttyUSB0, COM3), "tcp://host:9100", "file:/absolute/path" or "virtual"`)
	} else if msg := checkPort(c.Printer.Port); msg != "" {
		v.bad("printer.port", c.Printer.Port, msg)
	}
	v.intOneOf("printer.baud", c.Printer.Baud, 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400)
	v.intOneOf("printer.data_bits", c.Printer.DataBits, 7, 8)
	v.oneOf("printer.parity", c.Printer.Parity, "none", "odd", "even")
	v.intOneOf("printer.stop_bits", c.Printer.StopBits, 1, 2)
	v.oneOf("printer.handshake", c.Printer.Handshake, "dtrdsr", "xonxoff", "none")
	if !profileRe.MatchString(c.Printer.Profile) {
		v.bad("printer.profile", c.Printer.Profile, "a profile id such as default, TM-T20III or POS-5890 (letters, digits, . _ -)")
	}
	v.intOneOf("printer.paper", c.Printer.Paper, 58, 80)
	v.oneOf("printer.qr", c.Printer.QR, "native", "raster", "auto")
	v.duration("printer.reprint_window", c.Printer.ReprintWindow, time.Second, time.Hour)
	if cp := c.Printer.Codepage; cp != nil && (*cp < 0 || *cp > 255) {
		v.badRaw("printer.codepage", strconv.Itoa(*cp), "an ESC t table number 0-255")
	}

	// [till]
	loopback, ok := checkListen(c.Till.Listen)
	if !ok {
		v.bad("till.listen", c.Till.Listen, "host:port with a port 1-65535, such as 127.0.0.1:8080 or 0.0.0.0:8080")
	}
	v.path("till.token_file", c.Till.TokenFile)
	if ok && !loopback && c.Till.TokenFile == "" {
		v.add(&FieldError{Key: "till.token_file", Err: ErrMissing,
			Allowed: "set when till.listen (" + c.Till.Listen + ") is not a loopback address, so that the API requires a bearer token"})
	}
	if c.Till.MaxBody < 1<<10 || c.Till.MaxBody > 64<<20 {
		b, _ := c.Till.MaxBody.MarshalText()
		v.badRaw("till.max_body", string(b), "a size between 1KiB and 64MiB")
	}

	// [store]
	if c.Store.Dir == "" {
		v.missing("store.dir", "an absolute directory path")
	} else {
		v.path("store.dir", c.Store.Dir)
	}
	// bbolt maps the whole file; 32-bit ARM cannot map much more than 1.5 GB.
	v.intRange("store.cap_mb", c.Store.CapMB, 16, 1536)
	v.intRange("store.retention_days", c.Store.RetentionDays, 7, 3650)
	v.intRange("store.headroom_mb", c.Store.HeadroomMB, 0, 4096)

	// [policy]
	v.oneOf("policy.mode", c.Policy.Mode, "offline-first", "online-first")
	v.duration("policy.online_budget", c.Policy.OnlineBudget, 100*time.Millisecond, 30*time.Second)
	v.oneOf("policy.b2b_offline", c.Policy.B2BOffline, "confirmation", "handover", "hold")
	v.intRange("policy.batch_threshold", c.Policy.BatchThreshold, 1, 10000)
	v.duration("policy.upload_interval", c.Policy.UploadInterval, time.Second, time.Hour)

	// [calendar]
	for i, d := range c.Calendar.Add {
		if slices.Contains(c.Calendar.Remove, d) {
			v.badRaw("calendar.add["+strconv.Itoa(i)+"]", d.String(), "also listed in calendar.remove; a date may be in one list only")
		}
	}

	// [metrics]
	v.path("metrics.token_file", c.Metrics.TokenFile)
	if c.Metrics.Listen != "" {
		mloop, ok := checkListen(c.Metrics.Listen)
		switch {
		case !ok:
			v.bad("metrics.listen", c.Metrics.Listen, "host:port with a port 1-65535, such as 0.0.0.0:9464, or empty for none")
		case c.Metrics.Listen == c.Till.Listen:
			v.bad("metrics.listen", c.Metrics.Listen, "an address other than till.listen")
		case !mloop && c.Metrics.TokenFile == "":
			v.add(&FieldError{Key: "metrics.token_file", Err: ErrMissing,
				Allowed: "set when metrics.listen (" + c.Metrics.Listen + ") is not a loopback address, so that scrapes need a bearer token"})
		}
	}

	// [certs]
	v.path("certs.passphrase_file", c.Certs.PassphraseFile)
	v.path("certs.machine_key_file", c.Certs.MachineKeyFile)

	// [log]
	v.oneOf("log.level", c.Log.Level, "debug", "info", "warn", "error")
	v.oneOf("log.format", c.Log.Format, "text", "json", "auto")

	if len(v.errs) == 0 {
		return nil
	}
	return v.errs
}

var (
	countryRe    = regexp.MustCompile(`^[A-Z]{2}$`)
	terminalRe   = regexp.MustCompile(`^[A-Za-z0-9._-]{1,32}$`)
	profileRe    = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	internalIDRe = regexp.MustCompile(`^[0-9]{10}-[0-9]{5}$`)
	nipVatUeRe   = regexp.MustCompile(`^[0-9]{10}-[A-Z]{2}[A-Za-z0-9+*]{2,12}$`)
	placeholder  = regexp.MustCompile(`\{[^{}]*\}`)
	seqRe        = regexp.MustCompile(`^\{seq(?::0([1-9]|1[0-2]))?\}$`)
)

// checkNumbering returns what is wrong with a numbering pattern, or "".
// The pattern plus the reset period must make every number unique.
func checkNumbering(pattern, reset string) string {
	const allowed = "a pattern with exactly one {seq} or {seq:0N} (N 1-12) and optionally {terminal}, {yyyy}, {yy}, {mm}, {dd}"
	if pattern == "" || len(pattern) > 128 || strings.ContainsAny(pattern, "\x00\n\r\t") {
		return allowed + ", at most 128 characters"
	}
	seq := 0
	for _, p := range placeholder.FindAllString(pattern, -1) {
		switch {
		case seqRe.MatchString(p):
			seq++
		case slices.Contains([]string{"{terminal}", "{yyyy}", "{yy}", "{mm}", "{dd}"}, p):
		default:
			return allowed + " (" + p + " is unknown)"
		}
	}
	rest := placeholder.ReplaceAllString(pattern, "")
	if strings.ContainsAny(rest, "{}") {
		return allowed + " (unbalanced braces)"
	}
	if seq != 1 {
		return allowed
	}
	year := strings.Contains(pattern, "{yyyy}") || strings.Contains(pattern, "{yy}")
	switch {
	case reset == "yearly" && !year:
		return allowed + "; with reset = yearly it must contain {yyyy} or {yy} to stay unique"
	case reset == "monthly" && (!year || !strings.Contains(pattern, "{mm}")):
		return allowed + "; with reset = monthly it must contain {mm} and {yyyy} or {yy} to stay unique"
	}
	return ""
}

// checkPort returns what is wrong with a printer port, or "".
func checkPort(port string) string {
	const allowed = `a device path (/dev/ttyUSB0, COM3), "tcp://host:port", "file:/absolute/path" or "virtual"`
	switch {
	case port == "virtual":
		return ""
	case strings.HasPrefix(port, "tcp://"):
		host, p, err := net.SplitHostPort(strings.TrimPrefix(port, "tcp://"))
		if n, perr := strconv.Atoi(p); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
			return `"tcp://host:port" with a port 1-65535, such as tcp://192.168.1.50:9100`
		}
		return ""
	case strings.HasPrefix(port, "file:"):
		if p := strings.TrimPrefix(port, "file:"); !isAbs(p) {
			return `"file:" followed by an absolute path, such as file:/var/lib/posagent/printer.bin`
		}
		return ""
	case strings.HasPrefix(port, "/dev/"), comRe.MatchString(port):
		return ""
	}
	return allowed
}

var comRe = regexp.MustCompile(`^(?:\\\\\.\\)?COM[0-9]{1,3}$`)

// checkListen parses a till listen address and reports whether it is loopback.
// A host name other than localhost counts as not loopback.
func checkListen(addr string) (loopback, ok bool) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false, false
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return false, false
	}
	if host == "localhost" {
		return true, true
	}
	if host == "" {
		return false, true // all interfaces
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false, !strings.ContainsAny(host, " /")
	}
	return ip.IsLoopback(), true
}

// isAbs accepts both slash-rooted and OS-absolute paths, so a Windows build still
// takes /var/lib/... in tests.
func isAbs(p string) bool { return strings.HasPrefix(p, "/") || filepath.IsAbs(p) }

type validator struct{ errs Errors }

func (v *validator) add(e *FieldError) { v.errs = append(v.errs, e) }

func (v *validator) missing(key, allowed string) {
	v.add(&FieldError{Key: key, Allowed: allowed, Err: ErrMissing})
}

func (v *validator) bad(key, value, allowed string) { v.badRaw(key, strconv.Quote(value), allowed) }

func (v *validator) badRaw(key, value, allowed string) {
	v.add(&FieldError{Key: key, Value: value, Allowed: allowed, Err: ErrInvalid})
}

func (v *validator) oneOf(key, value string, allowed ...string) bool {
	if slices.Contains(allowed, value) {
		return true
	}
	v.bad(key, value, "one of "+strings.Join(allowed, ", "))
	return false
}

func (v *validator) intOneOf(key string, value int, allowed ...int) {
	if slices.Contains(allowed, value) {
		return
	}
	s := make([]string, len(allowed))
	for i, a := range allowed {
		s[i] = strconv.Itoa(a)
	}
	v.badRaw(key, strconv.Itoa(value), "one of "+strings.Join(s, ", "))
}

func (v *validator) intRange(key string, value, lo, hi int) {
	if value < lo || value > hi {
		v.badRaw(key, strconv.Itoa(value), "between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi))
	}
}

func (v *validator) duration(key string, d Duration, lo, hi time.Duration) {
	if d.D() < lo || d.D() > hi {
		v.bad(key, d.D().String(), "a duration between "+lo.String()+" and "+hi.String())
	}
}

func (v *validator) text(key, value string, required bool, max int) {
	switch {
	case value == "" && required:
		v.missing(key, "a non-empty text of at most "+strconv.Itoa(max)+" characters")
	case !utf8.ValidString(value) || utf8.RuneCountInString(value) > max || strings.ContainsAny(value, "\x00\r\n"):
		v.bad(key, value, "a single line of valid UTF-8, at most "+strconv.Itoa(max)+" characters")
	}
}

func (v *validator) path(key, value string) {
	if value != "" && (!isAbs(value) || strings.ContainsRune(value, 0)) {
		v.bad(key, value, "an absolute path")
	}
}

func (v *validator) url(key, value string) {
	if value == "" {
		return
	}
	const allowed = "an https:// URL (http:// only for a loopback host, such as the simulator)"
	u, err := url.Parse(value)
	if err != nil || u.Host == "" || u.User != nil {
		v.bad(key, value, allowed)
		return
	}
	switch u.Scheme {
	case "https":
	case "http":
		host := u.Hostname()
		ip, err := netip.ParseAddr(host)
		if host != "localhost" && (err != nil || !ip.IsLoopback()) {
			v.bad(key, value, allowed)
		}
	default:
		v.bad(key, value, allowed)
	}
}
