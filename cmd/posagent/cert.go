package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/posagent/posagent/certmgr"
	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/internal/logx"
	"github.com/posagent/posagent/ksef/ksefapi"
)

func runCert(ctx context.Context, m *Main, args []string) error {
	return runSub(ctx, m, "cert", args, []verb{
		{"import", "install a certificate with its key (PEM or PKCS#12), or the certificate for a CSR", runCertImport},
		{"list", "list the installed certificates and their days left", runCertList},
		{"csr", "make a new key and a certificate signing request for KSeF enrollment", runCertCSR},
		{"enroll", "get a new certificate from KSeF (after a certificate login) and install it", runCertEnroll},
	})
}

// openCerts opens the certificate store of the configuration. With create,
// a missing default machine key is made first (cert import and csr); without
// it, a store that was never set up reports certstore.ErrNotFound.
func (m *Main) openCerts(cfg *config.Config, configPath string, create bool) (*certstore.Store, error) {
	p := pathsFor(cfg, configPath)
	opts := &certstore.Options{Now: m.Now, KDF: m.certKDF}
	if p.machineKey != "" {
		opts.MachineKeyFile = p.machineKey
		ok, err := exists(p.machineKey)
		if err != nil {
			return nil, fmt.Errorf("machine key: %w", err)
		}
		if !ok {
			if !create {
				return nil, fmt.Errorf("no machine key %s (import a certificate first): %w", p.machineKey, certstore.ErrNotFound)
			}
			if err := os.MkdirAll(filepath.Dir(p.machineKey), 0o750); err != nil {
				return nil, fmt.Errorf("create machine key: %w", err)
			}
			if err := certstore.CreateMachineKey(p.machineKey); err != nil {
				return nil, fmt.Errorf("create machine key: %w", err)
			}
		}
	} else {
		opts.PassphraseFile = cfg.Certs.PassphraseFile
	}
	if !create {
		ok, err := exists(filepath.Join(p.certs, "store.json"))
		if err != nil {
			return nil, fmt.Errorf("certificate store: %w", err)
		}
		if !ok {
			return nil, fmt.Errorf("no certificate store in %s: %w", p.certs, certstore.ErrNotFound)
		}
	}
	if err := os.MkdirAll(filepath.Dir(p.certs), 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	s, err := certstore.Open(p.certs, opts)
	if err != nil {
		return nil, fmt.Errorf("open certificate store: %w", err)
	}
	return s, nil
}

// ownCerts gives the certificate store and the machine key the owner of the
// data directory: root runs cert import, the service user reads the files.
func ownCerts(cfg *config.Config, configPath string) error {
	p := pathsFor(cfg, configPath)
	paths := []string{p.certs}
	if p.machineKey != "" {
		paths = append(paths, p.machineKey)
	}
	if err := matchOwner(p.dir, paths...); err != nil {
		return fmt.Errorf("set the owner of the certificate files: %w", err)
	}
	return nil
}

func runCertImport(_ context.Context, m *Main, args []string) error {
	f := m.newFlags("cert import", "[--usage offline|authentication] [--password-file FILE] FILE",
		"Installs a KSeF certificate and its private key from FILE: PEM (certificate and key,\n"+
			"in one file or two files joined) or PKCS#12 (.p12/.pfx, with --password-file).\n"+
			"A certificate without a key is installed for the key of the last `cert csr`.\n"+
			"Nothing is written when a check fails (key match, usage, validity, strength).").withConfig().withJSON()
	usageName := f.String("usage", "offline", "certificate `usage`: offline (KOD II) or authentication (XAdES login)")
	pwFile := f.String("password-file", "", "`file` holding the PKCS#12 password")
	pos, err := f.parseN(args, 1)
	if err != nil {
		return err
	}
	usage, err := certstore.ParseUsage(*usageName)
	if err != nil {
		return usagef("--usage: %w", err)
	}
	cfg, err := f.loadConfig()
	if err != nil {
		return err
	}
	data, err := readLimited(pos[0], certstore.MaxInputSize)
	if err != nil {
		return err
	}
	password := ""
	if *pwFile != "" {
		b, err := readLimited(*pwFile, 4096)
		if err != nil {
			return err
		}
		password = strings.TrimRight(string(b), "\r\n")
	}
	s, err := m.openCerts(cfg, f.config, true)
	if err != nil {
		return err
	}
	info, err := s.Import(usage, data, password)
	var ue *certstore.UsageError
	if errors.As(err, &ue) && ue.Fits() != 0 {
		err = fmt.Errorf("%w; KSeF Authentication and Offline certificates are distinct types: import this one with --usage %s", err, ue.Fits())
	}
	if errors.Is(err, certstore.ErrNoPrivateKey) {
		// A bare certificate is the answer to an earlier `cert csr`.
		pending, perr := s.Pending(usage)
		switch {
		case perr != nil:
			err = fmt.Errorf("%w; looking for a pending key: %w", err, perr)
		case pending:
			info, err = s.ImportCertificate(usage, data)
		}
	}
	if err != nil {
		return fmt.Errorf("import %s: %w", pos[0], err)
	}
	if err := ownCerts(cfg, f.config); err != nil {
		return err
	}
	if f.json {
		return printJSON(m.Stdout, certRow(*info, m.now()))
	}
	fmt.Fprintf(m.Stdout, "installed %s certificate %s for %s, valid until %s (%d days left)\n",
		info.Usage, info.Serial, info.Subject, info.NotAfter.Format(time.DateOnly), info.DaysLeft(m.now()))
	return nil
}

// certJSON is one certificate in `cert list --json`.
type certJSON struct {
	Usage       string    `json:"usage"`
	Serial      string    `json:"serial"`
	Subject     string    `json:"subject"`
	Issuer      string    `json:"issuer"`
	NotBefore   time.Time `json:"not_before"`
	NotAfter    time.Time `json:"not_after"`
	DaysLeft    int       `json:"days_left"`
	KeyType     string    `json:"key_type"`
	Fingerprint string    `json:"fingerprint"`
	Pending     bool      `json:"pending_csr,omitempty"`
	// KSeFState is what KSeF last reported (Active, Blocked, Revoked,
	// Expired); empty when never asked or unknown to KSeF.
	KSeFState string    `json:"ksef_state,omitempty"`
	Checked   time.Time `json:"ksef_checked,omitzero"`
}

func certRow(i certstore.Info, now time.Time) certJSON {
	return certJSON{
		Usage: i.Usage.String(), Serial: i.Serial, Subject: i.Subject, Issuer: i.Issuer,
		NotBefore: i.NotBefore, NotAfter: i.NotAfter, DaysLeft: i.DaysLeft(now),
		KeyType: string(i.KeyType), Fingerprint: i.Fingerprint,
	}
}

func runCertList(_ context.Context, m *Main, args []string) error {
	f := m.newFlags("cert list", "[--json]", "Lists the installed KSeF certificates with their days left.").withConfig().withJSON()
	_, cfg, err := f.parseConfig(args, 0)
	if err != nil {
		return err
	}
	rows := []certJSON{}
	s, err := m.openCerts(cfg, f.config, false)
	switch {
	case errors.Is(err, certstore.ErrNotFound):
	case err != nil:
		return err
	default:
		infos, err := s.List()
		if err != nil {
			return err
		}
		for _, i := range infos {
			r := certRow(i, m.now())
			if r.Pending, err = s.Pending(i.Usage); err != nil {
				return err
			}
			rec, err := s.Record(i.Usage)
			if err != nil {
				return err
			}
			if rec.Serial == i.Serial {
				r.KSeFState, r.Checked = rec.State, rec.Checked
			}
			rows = append(rows, r)
		}
	}
	if f.json {
		return printJSON(m.Stdout, rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(m.Stdout, "no certificates installed (posagent cert import FILE)")
		return nil
	}
	t := newTable(m.Stdout, "USAGE", "SERIAL", "KEY", "VALID UNTIL", "DAYS LEFT", "KSEF", "SUBJECT")
	for _, r := range rows {
		t.row(r.Usage, r.Serial, r.KeyType, r.NotAfter.Format(time.DateOnly), strconv.Itoa(r.DaysLeft), dash(r.KSeFState), r.Subject)
	}
	return t.flush()
}

func runCertCSR(_ context.Context, m *Main, args []string) error {
	f := m.newFlags("cert csr", "[--usage offline] [--key ec|rsa] [--out FILE] [subject flags]",
		"Makes a new key pair, keeps it sealed in the store as the pending key of the usage,\n"+
			"and writes a PKCS#10 request (PEM) for KSeF enrollment. Copy the subject attributes\n"+
			"from GET /certificates/enrollments/data verbatim; the defaults come from [seller].\n"+
			"Install the certificate KSeF issues with `posagent cert import CERT.pem`.").withConfig().withJSON()
	usageName := f.String("usage", "offline", "certificate `usage`: offline or authentication")
	keyType := f.String("key", "ec", "key `type`: ec (P-256) or rsa (2048)")
	out := f.String("out", "", "write the CSR to `file` instead of standard output")
	cn := f.String("cn", "", "commonName (default: seller name)")
	country := f.String("country", "PL", "countryName")
	org := f.String("org", "", "organizationName (default: seller name)")
	orgID := f.String("org-id", "", "organizationIdentifier (default: VATPL-<seller NIP>)")
	serial := f.String("serial-number", "", "serialNumber, e.g. TINPL-1234567890")
	given := f.String("given-name", "", "givenName (persons)")
	surname := f.String("surname", "", "surname (persons)")
	if _, err := f.parseN(args, 0); err != nil {
		return err
	}
	usage, kt, err := usageAndKey(*usageName, *keyType)
	if err != nil {
		return err
	}
	cfg, err := f.loadConfig()
	if err != nil {
		return err
	}
	subj := certstore.Subject{
		CommonName: orDefault(*cn, cfg.Seller.Name), CountryName: *country,
		OrganizationName:       orDefault(*org, cfg.Seller.Name),
		OrganizationIdentifier: orDefault(*orgID, "VATPL-"+cfg.Seller.NIP),
		SerialNumber:           *serial, Surname: *surname,
	}
	if *given != "" {
		subj.GivenNames = []string{*given}
	}
	s, err := m.openCerts(cfg, f.config, true)
	if err != nil {
		return err
	}
	csr, err := s.CreateCSR(usage, subj, kt)
	if err != nil {
		return fmt.Errorf("create CSR: %w", err)
	}
	if err := ownCerts(cfg, f.config); err != nil {
		return err
	}
	if *out != "" {
		if err := os.WriteFile(*out, csr.PEM, 0o644); err != nil {
			return fmt.Errorf("write CSR: %w", err)
		}
	}
	switch {
	case f.json:
		return printJSON(m.Stdout, map[string]string{"usage": usage.String(), "key_type": string(kt), "csr": csr.Base64(), "file": *out})
	case *out == "":
		_, err = m.Stdout.Write(csr.PEM)
		return err
	}
	fmt.Fprintf(m.Stdout, "wrote %s; the new %s key waits in the store for its certificate\n", *out, usage)
	return nil
}

func runCertEnroll(ctx context.Context, m *Main, args []string) error {
	f := m.newFlags("cert enroll", "--usage offline|authentication [--key ec|rsa]",
		"Gets a new KSeF certificate of the usage and installs it: the agent logs in with\n"+
			"its Authentication certificate (XAdES; KSeF enrolls nothing after a token login),\n"+
			"checks the KSeF limits, takes the enrollment data, makes a key and a CSR with\n"+
			"those attributes verbatim, sends it, waits for the certificate and imports it.\n"+
			"An enrollment a crash interrupted is finished, not sent again. The running\n"+
			"service picks the new certificate up after a restart.").withConfig().withJSON()
	usageName := f.String("usage", "", "certificate `usage`: offline (KOD II) or authentication (XAdES login)")
	keyType := f.String("key", "ec", "key `type`: ec (P-256) or rsa (2048)")
	if _, err := f.parseN(args, 0); err != nil {
		return err
	}
	usage, kt, err := usageAndKey(*usageName, *keyType)
	if err != nil {
		return err
	}
	cfg, err := f.loadConfig()
	if err != nil {
		return err
	}
	s, err := m.openCerts(cfg, f.config, true)
	if err != nil {
		return err
	}
	auth, err := s.LoadAnyTime(certstore.Authentication)
	if errors.Is(err, certstore.ErrNotFound) {
		return fmt.Errorf("cert enroll: %w: import the Authentication certificate that logs in first (posagent cert import --usage authentication FILE)", certmgr.ErrNeedsXAdES)
	}
	if err != nil {
		return fmt.Errorf("authentication certificate: %w", err)
	}
	login := &ksefLogin{auth: ksefapi.XAdESAuth{Signer: auth, Certificate: auth.Certificate()}, method: "xades"}
	logger := logx.New(m.Stderr, logx.Options{Level: cfg.Log.Level, Format: logx.FormatText, Getenv: m.Getenv})
	client, err := ksefClient(cfg, login, m.Now, logger, nil)
	if err != nil {
		return err
	}
	mgr, err := certmgr.New(certmgr.Options{Store: s, API: client, Name: "posagent " + cfg.Terminal.ID, KeyType: kt,
		Now: m.Now, Logger: logger.With("component", "certs")})
	if err != nil {
		return err
	}
	info, err := mgr.Enroll(ctx, usage)
	if err != nil {
		return fmt.Errorf("cert enroll: %w", err)
	}
	if err := ownCerts(cfg, f.config); err != nil {
		return err
	}
	if f.json {
		return printJSON(m.Stdout, certRow(*info, m.now()))
	}
	fmt.Fprintf(m.Stdout, "enrolled and installed %s certificate %s for %s, valid until %s (%d days left)\n",
		info.Usage, info.Serial, info.Subject, info.NotAfter.Format(time.DateOnly), info.DaysLeft(m.now()))
	return nil
}

// usageAndKey reads the --usage and --key flags of csr and enroll.
func usageAndKey(usageName, keyType string) (certstore.Usage, certstore.KeyType, error) {
	usage, err := certstore.ParseUsage(usageName)
	if err != nil {
		return 0, "", usagef("--usage: %w", err)
	}
	kt := certstore.KeyType(keyType)
	if kt != certstore.KeyEC && kt != certstore.KeyRSA {
		return 0, "", usagef("--key: %q is not ec or rsa", keyType)
	}
	return usage, kt, nil
}

func orDefault(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
