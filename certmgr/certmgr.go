package certmgr

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/ksef/ksefapi"
)

// API is the part of the KSeF client the manager uses; *ksefapi.Client
// satisfies it.
type API interface {
	AuthMethod() string
	CertificateLimits(ctx context.Context) (*ksefapi.CertificateLimits, error)
	EnrollmentData(ctx context.Context) (*ksefapi.EnrollmentData, error)
	Enroll(ctx context.Context, r ksefapi.EnrollRequest) (*ksefapi.Enrollment, error)
	WaitEnrollment(ctx context.Context, ref string) (string, error)
	RetrieveCertificates(ctx context.Context, serials ...string) ([]ksefapi.RetrievedCertificate, error)
	CertificateStatusOf(ctx context.Context, serial string) (*ksefapi.CertificateInfo, bool, error)
}

var _ API = (*ksefapi.Client)(nil)

// Defaults for Options fields left zero.
const (
	// DefaultRenewBefore: a certificate is renewed this long before it
	// expires, so a station offline for weeks still gets a new one in time.
	DefaultRenewBefore = 30 * 24 * time.Hour
	// DefaultCheckInterval is how often KSeF is asked about the certificates.
	DefaultCheckInterval = 6 * time.Hour
	// DefaultRetryInterval is the least time between two enrollment
	// attempts of one usage: each spends one of the subject's 300 requests.
	DefaultRetryInterval = 24 * time.Hour
	// DefaultName is the certificateName prefix.
	DefaultName = "posagent"
)

// Options configure a Manager.
type Options struct {
	Store *certstore.Store // required
	API   API              // required
	// Name prefixes the certificateName of enrollments ("posagent KASA01");
	// characters KSeF does not allow become "-". Default DefaultName.
	Name          string
	KeyType       certstore.KeyType // of new keys; default certstore.KeyEC
	AutoRenew     bool              // renew installed certificates RenewBefore their expiry
	RenewBefore   time.Duration     // default DefaultRenewBefore
	CheckInterval time.Duration     // default DefaultCheckInterval
	RetryInterval time.Duration     // default DefaultRetryInterval
	Now           func() time.Time  // default time.Now
	Logger        *slog.Logger      // default discards
	// OnInstalled, if set, is called after a certificate of usage was
	// enrolled and installed, with it ready to sign.
	OnInstalled func(usage certstore.Usage, c *certstore.Cert)
	// OnStatus, if set, is called with every installed certificate's facts
	// and record after each check.
	OnStatus func(s Status)
}

// Status is an installed certificate with what KSeF last said about it.
type Status struct {
	Info   certstore.Info
	Record certstore.Record
}

// Unusable reports whether KSeF reports the certificate revoked or blocked.
func (s Status) Unusable() bool { return s.Record.Unusable(s.Info.Serial) }

// Manager enrolls, renews and checks the KSeF certificates of one store.
type Manager struct {
	opts Options
	log  *slog.Logger

	// enrollMu serialises Enroll: two enrollments of one usage would race
	// for its pending key and its record.
	enrollMu sync.Mutex

	warnMu   sync.Mutex // guards warnedAt
	warnedAt map[string]time.Time
}

// New validates opts and returns a Manager. It does no I/O.
func New(opts Options) (*Manager, error) {
	if opts.Store == nil || opts.API == nil {
		return nil, fmt.Errorf("%w: Store and API are required", ErrOptions)
	}
	if opts.RenewBefore < 0 || opts.CheckInterval < 0 || opts.RetryInterval < 0 {
		return nil, fmt.Errorf("%w: negative interval", ErrOptions)
	}
	switch opts.KeyType {
	case "":
		opts.KeyType = certstore.KeyEC
	case certstore.KeyEC, certstore.KeyRSA:
	default:
		return nil, fmt.Errorf("%w: key type %q", ErrOptions, opts.KeyType)
	}
	if opts.Name == "" {
		opts.Name = DefaultName
	}
	if opts.RenewBefore == 0 {
		opts.RenewBefore = DefaultRenewBefore
	}
	if opts.CheckInterval == 0 {
		opts.CheckInterval = DefaultCheckInterval
	}
	if opts.RetryInterval == 0 {
		opts.RetryInterval = DefaultRetryInterval
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	return &Manager{opts: opts, log: opts.Logger, warnedAt: map[string]time.Time{}}, nil
}

// CertificateName is the certificateName of an enrollment of usage: the
// configured prefix and the type, in the characters KSeF allows.
func (m *Manager) CertificateName(usage certstore.Usage) string {
	name := strings.Map(func(r rune) rune {
		switch {
		case r < 128 && (unicode.IsLetter(r) || unicode.IsDigit(r)), r == '_', r == '-', r == ' ', strings.ContainsRune("ąćęłńóśźżĄĆĘŁŃÓŚŹŻ", r):
			return r
		}
		return '-'
	}, m.opts.Name+" "+usage.KSeFType())
	if r := []rune(name); len(r) > 100 {
		name = string(r[:100])
	}
	return name
}

// Enroll gets a new certificate of usage from KSeF and installs it: limits,
// enrollment data, a CSR with those attributes verbatim (the key stays
// sealed in the store), the request, polling, retrieval and import. An
// enrollment a crash interrupted is resumed from its record. The client
// must log in with XAdES: KSeF refuses enrollment after a token login.
func (m *Manager) Enroll(ctx context.Context, usage certstore.Usage) (*certstore.Info, error) {
	m.enrollMu.Lock()
	defer m.enrollMu.Unlock()
	if method := m.opts.API.AuthMethod(); method != "xades" {
		return nil, fmt.Errorf("%w (the client logs in with %s)", ErrNeedsXAdES, method)
	}
	st := m.opts.Store
	rec, err := st.Record(usage)
	if err != nil {
		return nil, err
	}
	pending, err := st.Pending(usage)
	if err != nil {
		return nil, err
	}
	if pending && rec.Enrollment != "" {
		info, err := m.finish(ctx, usage, rec.Enrollment)
		if err == nil || !abandoned(err) {
			return info, err
		}
		m.log.Warn("the enrollment in flight was refused or is unknown to KSeF; starting a new one", "usage", usage, "reference", rec.Enrollment, "error", err)
	}
	if err := st.UpdateRecord(usage, func(r *certstore.Record) { r.LastAttempt, r.LastError = m.opts.Now(), "" }); err != nil {
		return nil, err
	}
	lim, err := m.opts.API.CertificateLimits(ctx)
	if err != nil {
		return nil, fmt.Errorf("certmgr: certificate limits: %w", err)
	}
	if !lim.Allows() {
		return nil, &LimitError{Limits: *lim}
	}
	data, err := m.opts.API.EnrollmentData(ctx)
	if err != nil {
		return nil, fmt.Errorf("certmgr: enrollment data: %w", err)
	}
	csr, err := st.CreateCSR(usage, subjectOf(data), m.opts.KeyType)
	if err != nil {
		return nil, fmt.Errorf("certmgr: CSR: %w", err)
	}
	en, err := m.opts.API.Enroll(ctx, ksefapi.EnrollRequest{Name: m.CertificateName(usage), Type: ksefType(usage), CSR: csr.DER})
	if err != nil {
		return nil, fmt.Errorf("certmgr: enroll: %w", err)
	}
	m.log.Info("certificate enrollment sent", "usage", usage, "reference", en.ReferenceNumber)
	if err := st.UpdateRecord(usage, func(r *certstore.Record) { r.Enrollment, r.Enrolled = en.ReferenceNumber, m.opts.Now() }); err != nil {
		return nil, err
	}
	return m.finish(ctx, usage, en.ReferenceNumber)
}

// abandoned reports whether KSeF will never issue the certificate of an
// enrollment: its status is final and not "issued" (400 rejected, 500 error,
// 550 cancelled: a retryable one is retried with a new request, as waiting
// again reads the same status), or KSeF no longer knows the reference (25005
// in the OpenAPI's 400 table of GET /certificates/enrollments/{referenceNumber};
// KSeF keeps an enrollment's status for 30 days, ksef-api.md §2).
func abandoned(err error) bool {
	var se *ksefapi.StatusError
	if errors.As(err, &se) {
		return true
	}
	var ae *ksefapi.APIError
	return errors.As(err, &ae) && ae.HasCode(ksefapi.CodeEnrollmentUnknown)
}

// finish waits for enrollment ref, retrieves and installs its certificate.
func (m *Manager) finish(ctx context.Context, usage certstore.Usage, ref string) (*certstore.Info, error) {
	st := m.opts.Store
	serial, err := m.opts.API.WaitEnrollment(ctx, ref)
	if err != nil {
		return nil, fmt.Errorf("certmgr: enrollment %s: %w", ref, err)
	}
	got, err := m.opts.API.RetrieveCertificates(ctx, serial)
	if err != nil {
		return nil, fmt.Errorf("certmgr: retrieve %s: %w", serial, err)
	}
	if len(got) != 1 || got[0].Serial != serial {
		return nil, fmt.Errorf("certmgr: retrieve %s: KSeF returned %d certificates", serial, len(got))
	}
	if got[0].Type != ksefType(usage) {
		return nil, fmt.Errorf("certmgr: retrieve %s: KSeF issued a %s certificate, want %s", serial, got[0].Type, ksefType(usage))
	}
	info, err := st.ImportCertificate(usage, got[0].DER)
	if err != nil {
		return nil, fmt.Errorf("certmgr: install %s: %w", serial, err)
	}
	now := m.opts.Now()
	if err := st.UpdateRecord(usage, func(r *certstore.Record) {
		*r = certstore.Record{Serial: info.Serial, State: certstore.StateActive, Checked: now, LastAttempt: r.LastAttempt}
	}); err != nil {
		return nil, err
	}
	m.log.Info("certificate installed", "usage", usage, "serial", info.Serial, "not_after", info.NotAfter)
	if m.opts.OnInstalled != nil {
		c, err := st.Load(usage)
		if err != nil {
			return nil, fmt.Errorf("certmgr: load the new %s certificate: %w", usage, err)
		}
		m.opts.OnInstalled(usage, c)
	}
	return info, nil
}

// subjectOf copies the enrollment data into a CSR subject, verbatim.
func subjectOf(d *ksefapi.EnrollmentData) certstore.Subject {
	s := certstore.Subject{CommonName: d.CommonName, CountryName: d.CountryName, Surname: d.Surname,
		SerialNumber: d.SerialNumber, UniqueIdentifier: d.UniqueIdentifier,
		OrganizationName: d.OrganizationName, OrganizationIdentifier: d.OrganizationIdentifier}
	if d.GivenName != "" {
		s.GivenNames = []string{d.GivenName}
	}
	return s
}

func ksefType(u certstore.Usage) ksefapi.CertificateType {
	if u == certstore.Authentication {
		return ksefapi.CertAuthentication
	}
	return ksefapi.CertOffline
}

// Statuses returns the installed certificates with their records, from the
// store alone.
func (m *Manager) Statuses() ([]Status, error) {
	infos, err := m.opts.Store.List()
	if err != nil {
		return nil, err
	}
	out := make([]Status, 0, len(infos))
	for _, i := range infos {
		r, err := m.opts.Store.Record(i.Usage)
		if err != nil {
			return nil, err
		}
		out = append(out, Status{Info: i, Record: r})
	}
	return out, nil
}

// Check asks KSeF about every installed certificate, records the answer,
// reports it through OnStatus and logs an alarm for a certificate KSeF
// reports revoked or blocked. A certificate KSeF does not know (a qualified
// seal, a self-signed test certificate) is recorded with an unknown state.
func (m *Manager) Check(ctx context.Context) ([]Status, error) {
	list, err := m.Statuses()
	if err != nil {
		return nil, err
	}
	var errs []error
	for i := range list {
		s := &list[i]
		ki, known, err := m.opts.API.CertificateStatusOf(ctx, s.Info.Serial)
		if err != nil {
			errs = append(errs, fmt.Errorf("certmgr: status of the %s certificate: %w", s.Info.Usage, err))
		} else {
			state := certstore.StateUnknown
			if known {
				state = string(ki.Status)
			}
			now := m.opts.Now()
			if err := m.opts.Store.UpdateRecord(s.Info.Usage, func(r *certstore.Record) {
				r.Serial, r.State, r.Checked = s.Info.Serial, state, now
			}); err != nil {
				errs = append(errs, err)
			}
			s.Record.Serial, s.Record.State, s.Record.Checked = s.Info.Serial, state, now
		}
		if s.Unusable() {
			m.log.Error("ALARM: KSeF reports the "+s.Info.Usage.KSeFType()+" certificate "+strings.ToLower(s.Record.State)+
				"; enroll a new one (posagent cert enroll --usage "+s.Info.Usage.String()+")",
				"usage", s.Info.Usage, "serial", s.Info.Serial, "state", s.Record.State)
		}
		if m.opts.OnStatus != nil {
			m.opts.OnStatus(*s)
		}
	}
	return list, errors.Join(errs...)
}

// RenewDue reports whether s should be renewed at now: AutoRenew is on, it
// expires within RenewBefore, and the last attempt is RetryInterval old.
func (m *Manager) RenewDue(s Status, now time.Time) bool {
	return m.opts.AutoRenew && s.Info.NotAfter.Sub(now) <= m.opts.RenewBefore &&
		(s.Record.LastAttempt.IsZero() || now.Sub(s.Record.LastAttempt) >= m.opts.RetryInterval)
}

// Tick is one round of Run: check every certificate, then renew those due.
func (m *Manager) Tick(ctx context.Context) {
	list, err := m.Check(ctx)
	if err != nil && ctx.Err() == nil {
		m.log.Warn("certificate status check failed; retrying later", "error", err)
	}
	now := m.opts.Now()
	for _, s := range list {
		if !m.RenewDue(s, now) {
			continue
		}
		if m.opts.API.AuthMethod() != "xades" {
			m.warnOnce("renew-"+s.Info.Usage.String(), now, "the "+s.Info.Usage.KSeFType()+" certificate expires soon and cannot be renewed: "+
				"KSeF enrolls only after a certificate (XAdES) login; set ksef.auth = xades", "usage", s.Info.Usage, "not_after", s.Info.NotAfter)
			continue
		}
		m.log.Info("renewing the certificate before it expires", "usage", s.Info.Usage, "serial", s.Info.Serial,
			"days_left", s.Info.DaysLeft(now))
		info, err := m.Enroll(ctx, s.Info.Usage)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			_ = m.opts.Store.UpdateRecord(s.Info.Usage, func(r *certstore.Record) { r.LastError = err.Error() })
			m.log.Error("certificate renewal failed; retrying later", "usage", s.Info.Usage, "error", err, "retry_in", m.opts.RetryInterval)
			continue
		}
		m.log.Info("certificate renewed", "usage", s.Info.Usage, "serial", info.Serial, "not_after", info.NotAfter)
	}
}

// warnOnce logs msg at most once per CheckInterval for key.
func (m *Manager) warnOnce(key string, now time.Time, msg string, args ...any) {
	m.warnMu.Lock()
	last := m.warnedAt[key]
	due := last.IsZero() || now.Sub(last) >= m.opts.CheckInterval
	if due {
		m.warnedAt[key] = now
	}
	m.warnMu.Unlock()
	if due {
		m.log.Warn(msg, args...)
	}
}

// Run checks and renews every CheckInterval until ctx ends, starting at
// once. It returns ctx.Err().
func (m *Manager) Run(ctx context.Context) error {
	t := time.NewTicker(m.opts.CheckInterval)
	defer t.Stop()
	for {
		m.Tick(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
