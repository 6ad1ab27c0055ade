package certmgr

import (
	"errors"
	"fmt"

	"github.com/posagent/posagent/ksef/ksefapi"
)

var (
	// ErrOptions is returned by New for options it cannot work with.
	ErrOptions = errors.New("certmgr: invalid options")

	// ErrNeedsXAdES is returned by Enroll when the client logs in with a
	// KSeF token: KSeF refuses enrollment data and requests after a token
	// login (codes 25001, 25002).
	ErrNeedsXAdES = errors.New("certmgr: enrollment needs a certificate (XAdES) login: import an Authentication certificate and set ksef.auth = xades")

	// ErrLimit is wrapped by *LimitError.
	ErrLimit = errors.New("certmgr: KSeF certificate limit reached")
)

// LimitError reports that GET /certificates/limits forbids another
// enrollment; nothing was requested.
type LimitError struct {
	Limits ksefapi.CertificateLimits
}

func (e *LimitError) Error() string {
	l := e.Limits
	return fmt.Sprintf("%v: canRequest %v, enrollment requests %d of %d left, active certificates %d of %d left",
		ErrLimit, l.CanRequest, l.Enrollment.Remaining, l.Enrollment.Limit, l.Certificate.Remaining, l.Certificate.Limit)
}

// Unwrap returns ErrLimit.
func (e *LimitError) Unwrap() error { return ErrLimit }
