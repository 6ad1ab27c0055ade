package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/printer"
)

// Doctor thresholds.
const (
	certWarnDays    = 30               // warn this many days before the Offline certificate expires
	skewWarn        = 30 * time.Second // KSeF checks request timestamps; warn early
	skewFail        = 5 * time.Minute
	deadlineWarnFor = 24 * time.Hour
)

// Check results.
const (
	resPass = "pass"
	resWarn = "warn"
	resFail = "fail"
	resSkip = "skip"
)

// check is one line of the doctor's report.
type check struct {
	Name   string `json:"check"`
	Result string `json:"result"`
	Detail string `json:"detail"`
	Fix    string `json:"fix,omitempty"`
}

// doctor runs the checks in order; later checks use what earlier ones found.
type doctor struct {
	m          *Main
	configPath string
	dated      bool // --date: a rehearsal on another day
	cfg        *config.Config
	certs      *certstore.Store // nil when it cannot be opened
	checks     []check
}

func (d *doctor) add(name, result, detail, fix string) {
	d.checks = append(d.checks, check{Name: name, Result: result, Detail: detail, Fix: fix})
}

func runDoctor(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("doctor", "[--config FILE] [--json] [--date YYYY-MM-DD[THH:MM]]",
		"Checks the configuration, the data directory (writable, free space, store size\n"+
			"against its cap), the printer, the Offline certificate (validity, days left, key\n"+
			"match, revoked or suspended in KSeF), the KSeF login (XAdES with the Authentication\n"+
			"certificate; tokens end 2026-12-31), KSeF (reachable, clock skew), the availability\n"+
			"feed, and the backlog with its nearest deadline. Every failure comes with its fix;\n"+
			"exit status 3 on any failure. --date evaluates the certificates, the login and the\n"+
			"deadlines as of that day (the clock skew is then measured on that clock only\n"+
			"against a KSeF on loopback: a simulator run with the same --date).").withConfig().withJSON().withDate()
	pos, err := f.parse(args)
	if err != nil {
		return err
	}
	if err := f.exactArgs(pos, 0); err != nil {
		return err
	}
	d := &doctor{m: m, configPath: f.config, dated: f.date != ""}
	d.run(ctx)
	failed := 0
	for _, c := range d.checks {
		if c.Result == resFail {
			failed++
		}
	}
	if f.json {
		if err := printJSON(m.Stdout, d.checks); err != nil {
			return err
		}
	} else {
		for _, c := range d.checks {
			fmt.Fprintf(m.Stdout, "%-4s  %-14s %s\n", strings.ToUpper(c.Result), c.Name, c.Detail)
			if c.Fix != "" {
				fmt.Fprintf(m.Stdout, "      %-14s fix: %s\n", "", c.Fix)
			}
		}
	}
	if failed > 0 {
		return &exitError{code: exitCheckFailed, err: fmt.Errorf("doctor: %d check(s) failed", failed)}
	}
	return nil
}

func (d *doctor) run(ctx context.Context) {
	if !d.checkConfig() {
		for _, n := range []string{"data dir", "disk space", "store", "printer", "certificate", "ksef auth", "ksef", "availability", "backlog"} {
			d.add(n, resSkip, "needs a valid configuration", "")
		}
		return
	}
	d.checkDataDir()
	d.checkPrinter(ctx)
	d.checkCertificate()
	d.checkAuth()
	d.checkKSeF(ctx)
	d.checkAvailability(ctx)
	d.checkBacklog(ctx)
}

func (d *doctor) checkConfig() bool {
	cfg, err := config.Load(d.configPath)
	if err != nil {
		d.add("configuration", resFail, fmt.Sprintf("%s: %s", d.configPath, oneLine(err.Error())),
			"edit "+d.configPath+" (every key is explained in posagent.example.toml)")
		return false
	}
	d.cfg = cfg
	d.add("configuration", resPass, d.configPath, "")
	if cfg.KSeF.Auth != "xades" {
		d.checkToken()
	}
	return true
}

// checkToken reports whether the KSeF token can be read.
func (d *doctor) checkToken() {
	cfg := d.cfg
	if _, err := cfg.Secret(config.SecretKSeFToken); err != nil {
		where := cfg.KSeF.TokenFile
		if where == "" {
			where = "the file named by ksef.token_file"
		}
		d.add("ksef token", resFail, oneLine(err.Error()),
			fmt.Sprintf("write the KSeF token to %s (chown posagent, chmod 0600) or set %s", where, config.EnvKSeFToken))
		return
	}
	d.add("ksef token", resPass, "present and private", "")
}

func (d *doctor) checkDataDir() {
	dir := d.cfg.Store.Dir
	probe, err := os.CreateTemp(dir, ".doctor-*")
	if err == nil {
		_, err = probe.Write([]byte("posagent doctor"))
		if serr := probe.Sync(); err == nil {
			err = serr
		}
		probe.Close()
		os.Remove(probe.Name())
	}
	if err != nil {
		d.add("data dir", resFail, fmt.Sprintf("%s is not writable: %v", dir, err),
			fmt.Sprintf("install -d -o posagent -g posagent -m 0750 %s (or posagent install)", dir))
	} else {
		d.add("data dir", resPass, dir+" is writable", "")
	}

	capBytes := uint64(d.cfg.Store.CapMB) << 20
	headroom := uint64(d.cfg.Store.HeadroomMB) << 20
	var used uint64
	if st, err := os.Stat(filepath.Join(dir, storeFile)); err == nil {
		used = uint64(st.Size())
	}
	free, total, err := d.m.statfs(dir)
	switch {
	case errors.Is(err, errors.ErrUnsupported):
		d.add("disk space", resWarn, "free space cannot be measured on this system", "")
	case err != nil:
		d.add("disk space", resFail, err.Error(), "check that "+dir+" exists and is mounted")
	default:
		need := capBytes - min(used, capBytes) + headroom
		detail := fmt.Sprintf("%s free of %s; the store may still grow %s (+%s headroom)",
			mib(free), mib(total), mib(capBytes-min(used, capBytes)), mib(headroom))
		switch {
		case free < headroom || free < 1<<20:
			d.add("disk space", resFail, "disk full: "+detail,
				"free space on the disk of "+dir+" (old logs, journalctl --vacuum-size=50M); issuing stops when it is full")
		case free < need:
			d.add("disk space", resWarn, detail, "lower store.cap_mb or free space, so the store can reach its cap")
		default:
			d.add("disk space", resPass, detail, "")
		}
	}
	d.checkStore(filepath.Join(dir, storeFile))
}

// checkStore reports the store's room as Issue computes it (outbox.Room):
// full exactly when new sales are refused, a warning when Room.NearFull.
// While the running service holds the store only the file's size is known:
// outbox.RoomOfFile then counts every page of it as used, an upper bound.
func (d *doctor) checkStore(path string) {
	st, err := os.Stat(path)
	if err != nil {
		d.add("store", resPass, "no store yet: nothing issued", "")
		return
	}
	opts := &outbox.Options{Timeout: 300 * time.Millisecond, MaxSize: int64(d.cfg.Store.CapMB) << 20}
	var room outbox.Room
	source := ""
	s, err := outbox.Open(path, opts)
	if err == nil {
		room, err = s.Room()
		s.Close()
	}
	if err != nil {
		why := "the running service holds it"
		if !errors.Is(err, outbox.ErrLocked) {
			why = oneLine(err.Error())
		}
		source = " (from the file size: " + why + ")"
		if room, err = outbox.RoomOfFile(st.Size(), opts); err != nil {
			d.add("store", resFail, oneLine(err.Error()), "set store.cap_mb between 16 and 1536")
			return
		}
	}
	detail := fmt.Sprintf("%s in use; new sales stop at %s of the %s cap, %d invoices awaiting upload hold a reserve%s",
		mib(uint64(max(room.Used, 0))), mib(uint64(max(room.SalesLimit-room.Reserve, 0))), mib(uint64(opts.MaxSize)), room.Pending, source)
	switch {
	case room.Full():
		d.add("store", resFail, "store full: "+detail,
			"raise store.cap_mb (up to 1536) or lower store.retention_days; new sales are refused until then")
	case room.NearFull():
		d.add("store", resWarn, "store nearly full: "+detail, "raise store.cap_mb or lower store.retention_days")
	default:
		d.add("store", resPass, detail, "")
	}
}

func (d *doctor) checkPrinter(ctx context.Context) {
	pc := d.cfg.Printer
	if _, err := profileFor(pc); err != nil {
		d.add("printer", resFail, err.Error(), "set printer.profile to default, generic-58, generic-80, tm-t20iii or tm-t88v")
		return
	}
	if pc.Port == "virtual" {
		d.add("printer", resWarn, "virtual printer: receipts go nowhere", "set printer.port to the receipt printer (posagent printer list)")
		return
	}
	st, err := queryPrinter(ctx, pc)
	switch {
	case errors.Is(err, printer.ErrNoReplies):
		d.add("printer", resPass, pc.Port+": reachable (this port gives no status)", "")
	case err != nil && errors.Is(err, os.ErrNotExist):
		d.add("printer", resFail, fmt.Sprintf("%s: no such device", pc.Port),
			"plug the printer in and set printer.port to a path from `posagent printer list`")
	case err != nil && errors.Is(err, os.ErrPermission):
		d.add("printer", resFail, fmt.Sprintf("%s: permission denied", pc.Port),
			"add the posagent user to the group owning the device: usermod -aG dialout posagent")
	case err != nil && errors.Is(err, printer.ErrTimeout):
		d.add("printer", resFail, fmt.Sprintf("%s: the printer does not answer", pc.Port),
			"check power, cable and printer.baud/handshake against the printer's self-test page (hold FEED while powering on)")
	case err != nil:
		d.add("printer", resFail, fmt.Sprintf("%s: %v", pc.Port, err),
			"check the printer and printer.port; while the service runs it owns the port: stop it first")
	case !st.Ready():
		d.add("printer", resFail, fmt.Sprintf("%s: %s", pc.Port, st), "load paper, close the cover, clear the printer's error")
	case st.PaperNearEnd:
		d.add("printer", resWarn, pc.Port+": paper near end", "load a new roll soon")
	default:
		d.add("printer", resPass, pc.Port+": ready", "")
	}
}

func (d *doctor) checkCertificate() {
	now := d.m.now()
	s, err := d.m.openCerts(d.cfg, d.configPath, false)
	if errors.Is(err, certstore.ErrNotFound) {
		d.add("certificate", resFail, "no Offline certificate installed",
			"posagent cert import --usage offline FILE (or cert csr and enroll in KSeF)")
		return
	}
	if err != nil {
		d.add("certificate", resFail, oneLine(err.Error()), "check certs.passphrase_file / machine_key_file and the modes (0600) of the files")
		return
	}
	d.certs = s
	infos, err := s.List()
	info := installed(infos, certstore.Offline)
	if err != nil || info == nil {
		d.add("certificate", resFail, "no Offline certificate installed",
			"posagent cert import --usage offline FILE (or cert csr and enroll in KSeF)")
		return
	}
	cert, err := s.Load(certstore.Offline)
	days := info.DaysLeft(now)
	switch {
	case errors.Is(err, certstore.ErrExpired):
		d.add("certificate", resFail, fmt.Sprintf("Offline certificate %s expired on %s: offline sales are refused (offline_certificate_invalid), online sales still work", info.Serial, info.NotAfter.Format(time.DateOnly)),
			"posagent cert enroll --usage offline (or enroll in KSeF and posagent cert import it)")
		return
	case errors.Is(err, certstore.ErrNotYetValid):
		d.add("certificate", resFail, fmt.Sprintf("Offline certificate %s is valid only from %s", info.Serial, info.NotBefore.Format(time.RFC3339)),
			"check the system clock (timedatectl)")
		return
	case err != nil:
		d.add("certificate", resFail, oneLine(err.Error()), "re-import the Offline certificate with its key")
		return
	}
	if err := signCheck(cert); err != nil {
		d.add("certificate", resFail, "the stored key does not sign for the certificate: "+err.Error(),
			"re-import the Offline certificate with its key")
		return
	}
	if rec, err := s.Record(certstore.Offline); err == nil && rec.Unusable(info.Serial) {
		d.add("certificate", resFail, fmt.Sprintf("KSeF reports the Offline certificate %s %s (checked %s): its KOD II links do not verify, offline sales are refused (offline_certificate_invalid), online sales still work",
			info.Serial, ksefStateWord(rec.State), rec.Checked.In(ksef.Warsaw).Format("2006-01-02 15:04")),
			"posagent cert enroll --usage offline, then restart the service")
		return
	}
	detail := fmt.Sprintf("Offline %s, %s key matches, valid until %s (%d days left)", info.Serial, info.KeyType, info.NotAfter.Format(time.DateOnly), days)
	if days < certWarnDays {
		d.add("certificate", resWarn, detail, "enroll a new Offline certificate in KSeF before it expires")
		return
	}
	d.add("certificate", resPass, detail, "")
}

// installed returns the certificate of usage u in infos, or nil.
func installed(infos []certstore.Info, u certstore.Usage) *certstore.Info {
	var info *certstore.Info
	for i := range infos {
		if infos[i].Usage == u {
			info = &infos[i]
		}
	}
	return info
}

// ksefStateWord writes a KSeF certificate state for people.
func ksefStateWord(state string) string {
	if state == certstore.StateBlocked {
		return "suspended (blocked)"
	}
	return strings.ToLower(state)
}

// checkAuth reports how the agent will log in to KSeF, on the doctor's
// clock: tokens authenticate until 2026-12-31 (ksef.TokenAuthEnd), so token
// login is a warning before 2027 and a failure from 2027-01-01.
func (d *doctor) checkAuth() {
	now := d.m.now()
	cfgFix := fmt.Sprintf("posagent cert import --usage authentication FILE (or cert enroll), then set ksef.auth = \"xades\" in %s and restart", d.configPath)
	tokenLogin := func(why string) {
		if ksef.TokenAuthEnded(now) {
			d.add("ksef auth", resFail, why+"KSeF tokens ended on 2026-12-31: every login and upload is refused; sales queue offline", cfgFix)
			return
		}
		d.add("ksef auth", resWarn, fmt.Sprintf("%stokens end 2026-12-31, %d days left: import an Authentication certificate and set ksef.auth = xades", why, ksef.TokenDaysLeft(now)), cfgFix)
	}
	if d.cfg.KSeF.Auth != "xades" {
		tokenLogin("token login: ")
		return
	}
	var (
		info *certstore.Info
		rec  certstore.Record
	)
	if d.certs != nil {
		infos, err := d.certs.List()
		if err != nil {
			d.add("ksef auth", resFail, oneLine(err.Error()), "re-import the Authentication certificate")
			return
		}
		info = installed(infos, certstore.Authentication)
		rec, _ = d.certs.Record(certstore.Authentication)
	}
	if info == nil {
		if _, err := d.cfg.Secret(config.SecretKSeFToken); err == nil {
			d.checkToken()
			tokenLogin("ksef.auth = xades but no Authentication certificate is installed, so the KSeF token stands in: ")
			return
		}
		d.add("ksef auth", resFail, "ksef.auth = xades but no Authentication certificate is installed: nothing to log in with", cfgFix)
		return
	}
	days := info.DaysLeft(now)
	detail := fmt.Sprintf("xades with Authentication certificate %s, valid until %s (%d days left)", info.Serial, info.NotAfter.Format(time.DateOnly), days)
	switch {
	case rec.Unusable(info.Serial):
		d.add("ksef auth", resFail, fmt.Sprintf("%s, but KSeF reports it %s: logins are refused", detail, ksefStateWord(rec.State)),
			"import another Authentication certificate (a qualified seal, or one enrolled in KSeF's app) with posagent cert import --usage authentication FILE")
	case now.After(info.NotAfter):
		d.add("ksef auth", resFail, fmt.Sprintf("Authentication certificate %s expired on %s: logins are refused", info.Serial, info.NotAfter.Format(time.DateOnly)),
			"import a valid Authentication certificate: posagent cert import --usage authentication FILE")
	case days < certWarnDays && !d.cfg.Certs.AutoRenew:
		d.add("ksef auth", resWarn, detail, "posagent cert enroll --usage authentication (or set certs.auto_renew = true)")
	case days < certWarnDays:
		d.add("ksef auth", resWarn, detail+"; the service renews it (certs.auto_renew)", "check the service log for \"certificate renewed\"")
	default:
		d.add("ksef auth", resPass, detail, "")
	}
}

// signCheck signs a digest with the stored key and verifies it with the
// certificate's public key: the proof that the two belong together.
func signCheck(c *certstore.Cert) error {
	digest := sha256.Sum256([]byte("posagent doctor"))
	switch pub := c.Certificate().PublicKey.(type) {
	case *ecdsa.PublicKey:
		sig, err := c.Sign(rand.Reader, digest[:], crypto.SHA256)
		if err != nil {
			return err
		}
		if !ecdsa.VerifyASN1(pub, digest[:], sig) {
			return certstore.ErrKeyMismatch
		}
	case *rsa.PublicKey:
		opts := &rsa.PSSOptions{SaltLength: 32, Hash: crypto.SHA256}
		sig, err := c.Sign(rand.Reader, digest[:], opts)
		if err != nil {
			return err
		}
		if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, opts); err != nil {
			return certstore.ErrKeyMismatch
		}
	default:
		return certstore.ErrUnsupportedKey
	}
	return nil
}

// ksefBase is the KSeF API base URL of the configuration.
func ksefBase(cfg *config.Config) string {
	if cfg.KSeF.URL != "" {
		return strings.TrimRight(cfg.KSeF.URL, "/")
	}
	env, err := ksef.ParseEnvironment(cfg.KSeF.Environment)
	if err != nil {
		return ""
	}
	return env.APIBase()
}

func (d *doctor) checkKSeF(ctx context.Context) {
	base := ksefBase(d.cfg)
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/security/public-key-certificates", nil)
	if err != nil {
		d.add("ksef", resFail, err.Error(), "check ksef.url")
		return
	}
	// The skew is the host clock's: a rehearsal clock is compared only with
	// a KSeF on loopback, a simulator that runs on the same date.
	now := d.m.now
	if d.dated && !loopbackURL(base) {
		now = time.Now
	}
	sent := now()
	resp, err := d.m.httpClient().Do(req)
	if err != nil {
		d.add("ksef", resFail, fmt.Sprintf("%s unreachable: %s", base, oneLine(err.Error())),
			"check the network, DNS and firewall (HTTPS to "+hostOf(base)+"); sales continue offline and upload later")
		return
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	rtt := now().Sub(sent)
	detail := fmt.Sprintf("%s answered HTTP %d in %s", base, resp.StatusCode, rtt.Round(time.Millisecond))
	if resp.StatusCode/100 != 2 {
		d.add("ksef", resFail, detail, "check ksef.url and ksef.environment; a 5xx is KSeF's side: sales continue offline")
		return
	}
	date, err := http.ParseTime(resp.Header.Get("Date"))
	if err != nil {
		d.add("ksef", resWarn, detail+"; no Date header to measure the clock skew", "")
		return
	}
	skew := sent.Add(rtt / 2).Sub(date)
	detail += fmt.Sprintf("; clock skew %s", skew.Round(time.Second))
	switch {
	case skew.Abs() > skewFail:
		d.add("ksef", resFail, detail, "set the clock: timedatectl set-ntp true (KSeF refuses stale requests and P_1 dates must be right)")
	case skew.Abs() > skewWarn:
		d.add("ksef", resWarn, detail, "enable time sync: timedatectl set-ntp true")
	default:
		d.add("ksef", resPass, detail, "")
	}
}

// availabilityURL is the configured feed, or the known one of the environment.
func availabilityURL(cfg *config.Config) string {
	if cfg.KSeF.AvailabilityURL != "" {
		return strings.TrimRight(cfg.KSeF.AvailabilityURL, "/")
	}
	if cfg.KSeF.URL != "" {
		return "" // a custom KSeF (the simulator) has no known feed
	}
	env, err := ksef.ParseEnvironment(cfg.KSeF.Environment)
	if err != nil {
		return ""
	}
	return strings.TrimRight(ksefapi.AvailabilityBase(env), "/")
}

func (d *doctor) checkAvailability(ctx context.Context) {
	u := availabilityURL(d.cfg)
	if u == "" {
		d.add("availability", resWarn, "no availability feed configured: announced outages are not seen",
			"set ksef.availability_url")
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u+"/status", nil)
	if err != nil {
		d.add("availability", resWarn, err.Error(), "check ksef.availability_url")
		return
	}
	resp, err := d.m.httpClient().Do(req)
	if err != nil {
		d.add("availability", resWarn, "feed unreachable: "+oneLine(err.Error()), "check ksef.availability_url and the network")
		return
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		d.add("availability", resWarn, fmt.Sprintf("feed answered HTTP %d", resp.StatusCode), "check ksef.availability_url")
		return
	}
	a, err := ksefapi.ParseAvailability(body)
	if err != nil {
		d.add("availability", resWarn, oneLine(err.Error()), "check ksef.availability_url")
		return
	}
	if a.Status != ksefapi.Available {
		msg := string(a.Status)
		if len(a.Messages) > 0 {
			msg += ": " + a.Messages[0].Title
		}
		d.add("availability", resWarn, "KSeF announces "+msg, "nothing to fix here: sales continue offline with the announced deadlines")
		return
	}
	d.add("availability", resPass, "KSeF is AVAILABLE", "")
}

func (d *doctor) checkBacklog(ctx context.Context) {
	path := filepath.Join(d.cfg.Store.Dir, storeFile)
	if !fileExists(path) {
		d.add("backlog", resPass, "no store yet: nothing issued", "")
		return
	}
	st, err := outbox.Open(path, &outbox.Options{Timeout: 300 * time.Millisecond, MaxSize: int64(d.cfg.Store.CapMB) << 20, Now: d.m.Now})
	if errors.Is(err, outbox.ErrLocked) {
		d.add("backlog", resPass, "the store is in use by the running service: see posagent status", "")
		return
	}
	if err != nil {
		d.add("backlog", resFail, oneLine(err.Error()), "check "+path+"; never delete it: it holds invoices not yet in KSeF")
		return
	}
	defer st.Close()
	now := d.m.now()
	stats, err := st.Stats(ctx, now)
	if err != nil {
		d.add("backlog", resFail, oneLine(err.Error()), "")
		return
	}
	backlog := stats.Upload[outbox.UploadQueued] + stats.Upload[outbox.UploadSending] + stats.Upload[outbox.UploadBlocked]
	rejected := stats.Upload[outbox.UploadRejected]
	detail := fmt.Sprintf("%d to upload, %d accepted", backlog, stats.Upload[outbox.UploadAccepted])
	if !stats.EarliestDeadline.IsZero() {
		detail += ", nearest deadline " + stats.EarliestDeadline.In(ksef.Warsaw).Format("2006-01-02 15:04")
	}
	switch {
	case len(stats.Overdue) > 0:
		o := stats.Overdue[0]
		d.add("backlog", resFail, fmt.Sprintf("%s; %d overdue, first %s (deadline %s)", detail, len(stats.Overdue), o.Number, o.Deadline.In(ksef.Warsaw).Format(time.DateOnly)),
			"restore the link to KSeF (doctor's ksef line) and start the service: overdue invoices are still uploaded")
	case rejected > 0:
		d.add("backlog", resFail, fmt.Sprintf("%s; %d rejected by KSeF", detail, rejected),
			"posagent invoices list --state rejected, then issue a technical correction")
	case !stats.EarliestDeadline.IsZero() && stats.EarliestDeadline.Sub(now) < deadlineWarnFor:
		d.add("backlog", resWarn, detail, "make sure the service runs and KSeF is reachable before the deadline")
	default:
		d.add("backlog", resPass, detail, "")
	}
}

func mib(b uint64) string {
	switch {
	case b >= 10<<30:
		return fmt.Sprintf("%d GiB", b>>30)
	case b >= 1<<20:
		return fmt.Sprintf("%d MiB", b>>20)
	default:
		return fmt.Sprintf("%d KiB", b>>10)
	}
}

func oneLine(s string) string { return strings.ReplaceAll(strings.TrimSpace(s), "\n", "; ") }

func hostOf(u string) string {
	u = strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://")
	if i := strings.IndexByte(u, '/'); i >= 0 {
		return u[:i]
	}
	return u
}
