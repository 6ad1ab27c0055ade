package agent

import (
	"crypto/x509"
	"fmt"
	"time"

	"github.com/posagent/posagent/ksef"
)

// Certificate usages, as CertState.Usage names them.
const (
	UsageOffline        = "offline"
	UsageAuthentication = "authentication"
)

// KSeF certificate states (CertificateListItemStatus) in CertState.KSeF.
const (
	CertActive  = "Active"
	CertBlocked = "Blocked" // suspended
	CertRevoked = "Revoked"
	CertExpired = "Expired"
)

// CertState is what the agent knows about one of the terminal's KSeF
// certificates: its validity window and what KSeF last said about it.
type CertState struct {
	Usage     string    `json:"usage"` // UsageOffline or UsageAuthentication
	Serial    string    `json:"serial"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	KSeF      string    `json:"ksef_state,omitempty"` // CertActive, CertBlocked, …; "" unknown
	Checked   time.Time `json:"checked,omitzero"`     // when KSeF was last asked
}

// Revoked reports whether KSeF reports the certificate revoked or blocked
// (suspended): it authenticates no more, and a KOD II signed with it does not
// verify.
func (c CertState) Revoked() bool { return c.KSeF == CertRevoked || c.KSeF == CertBlocked }

// DaysLeft is whole days from now to NotAfter, negative once it has passed.
func (c CertState) DaysLeft(now time.Time) int { return daysLeft(c.NotAfter, now) }

// Problem returns why a KOD II signed with the certificate at now would not
// verify, or "": KSeF checks that the certificate is not revoked, blocked or
// expired (ksef-api.md §1.2). A certificate not valid yet is a clock
// problem, not a reason to refuse: its links verify once it is.
func (c CertState) Problem(now time.Time) string {
	switch {
	case c.Serial == "":
		return "not installed"
	case c.Revoked():
		return fmt.Sprintf("KSeF reports certificate %s %s", c.Serial, map[string]string{CertRevoked: "revoked", CertBlocked: "suspended (blocked)"}[c.KSeF])
	case now.After(c.NotAfter):
		return fmt.Sprintf("certificate %s expired on %s", c.Serial, c.NotAfter.In(ksef.Warsaw).Format(time.DateOnly))
	}
	return ""
}

// certStateOf describes an installed certificate before KSeF was asked.
func certStateOf(usage string, serial string, c *x509.Certificate) CertState {
	return CertState{Usage: usage, Serial: serial, NotBefore: c.NotBefore, NotAfter: c.NotAfter}
}

// SetSigner replaces the Offline certificate that signs KOD II, such as a
// renewed one. Invoices already issued keep the links they were issued with.
func (a *Agent) SetSigner(s ksef.Signer) {
	a.certMu.Lock()
	a.signer = s
	a.cert = nil
	if c, ok := s.(interface{ Certificate() *x509.Certificate }); ok {
		a.cert = c.Certificate()
		st := certStateOf(UsageOffline, s.CertSerial(), a.cert)
		if old, ok := a.certs[UsageOffline]; ok && old.Serial == st.Serial {
			st.KSeF, st.Checked = old.KSeF, old.Checked
		}
		a.certs[UsageOffline] = st
	}
	a.certMu.Unlock()
	a.certMetrics()
}

// SetCertificate records what is known about a certificate: the Offline one
// (whose serial must be the signer's to count) or the Authentication one.
// A revoked or blocked certificate raises an alarm; an Offline one that may
// not sign makes Issue refuse offline invoices (ErrOfflineCertificateInvalid).
func (a *Agent) SetCertificate(c CertState) {
	if c.Usage != UsageOffline && c.Usage != UsageAuthentication {
		return
	}
	a.certMu.Lock()
	if c.Usage == UsageOffline && c.Serial != a.signer.CertSerial() {
		a.certMu.Unlock()
		return // about a certificate the agent no longer signs with
	}
	old := a.certs[c.Usage]
	a.certs[c.Usage] = c
	a.certMu.Unlock()
	a.certMetrics()
	if c.Revoked() && (!old.Revoked() || old.Serial != c.Serial) {
		a.log.Error("ALARM: KSeF reports the "+c.Usage+" certificate "+c.KSeF+"; enroll a new one (posagent cert enroll --usage "+c.Usage+")",
			"serial", c.Serial, "state", c.KSeF)
		a.noteErr("certificate", fmt.Errorf("agent: the %s certificate %s is %s in KSeF", c.Usage, c.Serial, c.KSeF))
	}
}

// Certificates returns the known certificates, Offline first.
func (a *Agent) Certificates() []CertState {
	a.certMu.RLock()
	defer a.certMu.RUnlock()
	var out []CertState
	for _, u := range []string{UsageOffline, UsageAuthentication} {
		if c, ok := a.certs[u]; ok {
			out = append(out, c)
		}
	}
	return out
}

// offlineSigner returns the Offline signer and its certificate.
func (a *Agent) offlineSigner() (ksef.Signer, *x509.Certificate) {
	a.certMu.RLock()
	defer a.certMu.RUnlock()
	return a.signer, a.cert
}

// offlineCertProblem returns why offline invoices cannot carry a valid KOD II
// at now (expired, revoked or suspended), or "".
func (a *Agent) offlineCertProblem(now time.Time) string {
	a.certMu.RLock()
	c, ok := a.certs[UsageOffline]
	a.certMu.RUnlock()
	if !ok {
		return "" // a signer without a certificate (tests): nothing to check
	}
	return c.Problem(now)
}

// needsKOD2 reports whether an invoice issued in mode is handed over with the
// KOD II link, which only a valid Offline certificate can sign. Online
// invoices carry their KSeF number instead; total-failure ones no codes.
func needsKOD2(m ksef.Mode) bool {
	return m == ksef.ModeOffline24 || m == ksef.ModeOffline || m == ksef.ModeEmergency
}

// LoginResult records the outcome of a KSeF login; the caller wires it to
// ksefapi.Config.OnLogin. Failures count in posagent_ksef_auth_failures_total.
func (a *Agent) LoginResult(method string, err error) {
	a.mu.Lock()
	if err == nil {
		a.authFailures = 0
	} else {
		a.authFailures++
		a.authFailed = a.now()
	}
	a.mu.Unlock()
	if err != nil && a.m != nil {
		a.m.authFailures.Inc()
	}
}

// tokenAlarm returns the alarm about token authentication at now, or "":
// tokens stopped authenticating on 2027-01-01 (ksef.TokenAuthEnd).
func (a *Agent) tokenAlarm(now time.Time) string {
	if a.opts.AuthMethod != "token" || !ksef.TokenAuthEnded(now) {
		return ""
	}
	return "KSeF tokens stopped working on 2027-01-01: uploads are refused. Import an Authentication certificate " +
		"(posagent cert import --usage authentication FILE), set ksef.auth = \"xades\" and restart"
}

// certMetrics sets the certificate gauges from the known certificates.
func (a *Agent) certMetrics() {
	if a.m == nil {
		return
	}
	for _, c := range a.Certificates() {
		a.m.certExpiry.With(c.Usage).SetTime(c.NotAfter)
		a.m.certRevoked.With(c.Usage).Set(oneIf(c.Revoked()))
	}
}

// authAlarm logs, rate-limited like the other alarms, that uploads cannot log
// in: token authentication after 2026, or failing logins.
func (a *Agent) authAlarm(now time.Time) {
	alarm := a.tokenAlarm(now)
	a.mu.Lock()
	failures := a.authFailures
	due := (alarm != "" || failures > 0) && now.Sub(a.lastAuthAlarm) >= a.opts.AlarmInterval
	if due {
		a.lastAuthAlarm = now
	}
	a.mu.Unlock()
	switch {
	case !due:
	case alarm != "":
		a.log.Error("ALARM: "+alarm, "method", a.opts.AuthMethod, "failed_logins", failures)
	default:
		a.log.Error("ALARM: KSeF logins fail; invoices are kept and uploaded once a login succeeds",
			"method", a.opts.AuthMethod, "failed_logins", failures)
	}
}
