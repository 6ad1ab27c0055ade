package ksefapi

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Credentials prove the client's identity: TokenAuth or XAdESAuth.
type Credentials interface {
	validate() error
	method() string
}

// TokenAuth logs in with a KSeF token. Its String and LogValue never reveal the token.
type TokenAuth struct {
	Token string
}

func (a TokenAuth) validate() error {
	if strings.TrimSpace(a.Token) == "" {
		return fmt.Errorf("%w: KSeF token is empty", ErrInvalidConfig)
	}
	return nil
}
func (TokenAuth) method() string { return "token" }

// String redacts the token.
func (TokenAuth) String() string { return "TokenAuth{Token:REDACTED}" }

// GoString redacts the token from %#v.
func (a TokenAuth) GoString() string { return a.String() }

// LogValue redacts the token from slog output.
func (TokenAuth) LogValue() slog.Value { return slog.StringValue("TokenAuth{REDACTED}") }

// SubjectIdentifierType says how KSeF identifies the signer of an AuthTokenRequest.
type SubjectIdentifierType string

// The two subject identifier types of the auth schema.
const (
	SubjectCertificate SubjectIdentifierType = "certificateSubject"
	SubjectFingerprint SubjectIdentifierType = "certificateFingerprint"
)

// XAdESAuth logs in with an AuthTokenRequest signed by Signer, whose certificate
// is Certificate (a KSeF Authentication certificate in production).
type XAdESAuth struct {
	Signer      crypto.Signer
	Certificate *x509.Certificate
	Subject     SubjectIdentifierType // default SubjectCertificate
	// VerifyCertificateChain sets the TE-only query parameter of the same name.
	VerifyCertificateChain bool
}

func (a XAdESAuth) validate() error {
	if a.Signer == nil || a.Certificate == nil {
		return fmt.Errorf("%w: XAdES auth needs Signer and Certificate", ErrInvalidConfig)
	}
	switch a.Signer.Public().(type) {
	case *rsa.PublicKey, *ecdsa.PublicKey:
	default:
		return fmt.Errorf("%w: XAdES signer key %T (want RSA or ECDSA)", ErrInvalidConfig, a.Signer.Public())
	}
	if err := checkKeySize(a.Signer.Public()); err != nil {
		return err
	}
	if !publicKeysEqual(a.Signer.Public(), a.Certificate.PublicKey) {
		return fmt.Errorf("%w: XAdES signer does not match the certificate", ErrInvalidConfig)
	}
	switch a.Subject {
	case "", SubjectCertificate, SubjectFingerprint:
	default:
		return fmt.Errorf("%w: subject identifier type %q", ErrInvalidConfig, a.Subject)
	}
	return nil
}
func (XAdESAuth) method() string { return "xades" }

// checkKeySize applies the KSeF minimums for XAdES keys: RSA 2048, EC 256 bits.
func checkKeySize(pub crypto.PublicKey) error {
	switch k := pub.(type) {
	case *rsa.PublicKey:
		if k.N.BitLen() < 2048 {
			return fmt.Errorf("%w: RSA key of %d bits, KSeF requires at least 2048", ErrInvalidConfig, k.N.BitLen())
		}
	case *ecdsa.PublicKey:
		if k.Curve.Params().BitSize < 256 {
			return fmt.Errorf("%w: EC key of %d bits, KSeF requires at least 256", ErrInvalidConfig, k.Curve.Params().BitSize)
		}
	}
	return nil
}

func publicKeysEqual(a, b crypto.PublicKey) bool {
	ea, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && ea.Equal(b)
}

// Token is a bearer token with its expiry.
type Token struct {
	Token      string    `json:"token"`
	ValidUntil time.Time `json:"validUntil"`
}

// String redacts the token value.
func (t Token) String() string { return "Token{valid until " + t.ValidUntil.Format(time.RFC3339) + "}" }

// LogValue redacts the token value.
func (t Token) LogValue() slog.Value { return slog.StringValue(t.String()) }

// Challenge is the answer of POST /auth/challenge.
type Challenge struct {
	Challenge   string    `json:"challenge"`
	Timestamp   time.Time `json:"timestamp"`
	TimestampMs int64     `json:"timestampMs"`
	ClientIP    string    `json:"clientIp"`
}

// AuthInit is the 202 answer of /auth/ksef-token and /auth/xades-signature.
type AuthInit struct {
	ReferenceNumber     string `json:"referenceNumber"`
	AuthenticationToken Token  `json:"authenticationToken"`
}

// Tokens is the result of a completed login.
type Tokens struct {
	Access  Token `json:"accessToken"`
	Refresh Token `json:"refreshToken"`
}

// AuthStatus is GET /auth/{referenceNumber}.
type AuthStatus struct {
	StartDate                time.Time `json:"startDate"`
	AuthenticationMethodInfo struct {
		Category    string `json:"category"`
		Code        string `json:"code"`
		DisplayName string `json:"displayName"`
	} `json:"authenticationMethodInfo"`
	Status StatusInfo `json:"status"`
}

// StatusInfo is the code/description/details triple of status bodies.
type StatusInfo struct {
	Code        int               `json:"code"`
	Description string            `json:"description"`
	Details     []string          `json:"details,omitempty"`
	Extensions  map[string]string `json:"extensions,omitempty"`
}

// tokenState is what Authenticate and refresh maintain.
type tokenState struct {
	access, refresh Token
}

// Challenge asks for a fresh authentication challenge.
func (c *Client) Challenge(ctx context.Context) (*Challenge, error) {
	var ch Challenge
	if _, err := c.do(ctx, call{op: "auth challenge", method: http.MethodPost, path: "/auth/challenge"}, &ch); err != nil {
		return nil, err
	}
	if ch.Challenge == "" || ch.TimestampMs == 0 {
		return nil, &APIError{Op: "auth challenge", Status: http.StatusOK, Description: "challenge or timestampMs missing"}
	}
	return &ch, nil
}

type tokenAuthRequest struct {
	Challenge         string            `json:"challenge"`
	ContextIdentifier contextIdentifier `json:"contextIdentifier"`
	EncryptedToken    []byte            `json:"encryptedToken"`
	PublicKeyID       string            `json:"publicKeyId,omitempty"`
}

type contextIdentifier struct {
	Type  ContextType `json:"type"`
	Value string      `json:"value"`
}

// Authenticate runs the whole login (challenge, identity proof, status polling,
// redeem) with the configured credentials and keeps the tokens for later calls.
func (c *Client) Authenticate(ctx context.Context) (*Tokens, error) {
	creds := c.credentials()
	tok, err := c.authenticate(ctx, creds)
	if c.onLogin != nil && ctx.Err() == nil {
		c.onLogin(creds.method(), err)
	}
	return tok, err
}

func (c *Client) authenticate(ctx context.Context, creds Credentials) (*Tokens, error) {
	ch, err := c.Challenge(ctx)
	if err != nil {
		return nil, err
	}
	var init *AuthInit
	switch a := creds.(type) {
	case TokenAuth:
		init, err = c.initTokenAuth(ctx, a, ch)
	case XAdESAuth:
		init, err = c.initXAdESAuth(ctx, a, ch)
	default:
		err = fmt.Errorf("%w: credentials %T", ErrInvalidConfig, creds)
	}
	if err != nil {
		return nil, err
	}
	if err := c.WaitAuth(ctx, init); err != nil {
		return nil, err
	}
	tok, err := c.Redeem(ctx, init.AuthenticationToken)
	if err != nil {
		return nil, err
	}
	c.tokensMu.Lock()
	c.tokens = tokenState{access: tok.Access, refresh: tok.Refresh}
	c.tokensMu.Unlock()
	c.log.Info("ksef authenticated", "method", creds.method(), "accessValidUntil", tok.Access.ValidUntil)
	return tok, nil
}

func (c *Client) initTokenAuth(ctx context.Context, a TokenAuth, ch *Challenge) (*AuthInit, error) {
	return withKey(ctx, c, UsageKsefToken, func(k PublicKey) (*AuthInit, error) {
		enc, err := encryptToken(k.RSA, a.Token, ch.TimestampMs)
		if err != nil {
			return nil, err
		}
		req := tokenAuthRequest{
			Challenge:         ch.Challenge,
			ContextIdentifier: contextIdentifier{Type: c.ctxID.Type, Value: c.ctxID.Value},
			EncryptedToken:    enc,
			PublicKeyID:       k.PublicKeyID,
		}
		var init AuthInit
		_, err = c.do(ctx, call{op: "auth ksef-token", method: http.MethodPost, path: "/auth/ksef-token", body: req}, &init)
		if err != nil {
			return nil, err
		}
		return &init, nil
	})
}

func (c *Client) initXAdESAuth(ctx context.Context, a XAdESAuth, ch *Challenge) (*AuthInit, error) {
	subj := a.Subject
	if subj == "" {
		subj = SubjectCertificate
	}
	doc, err := BuildAuthTokenRequest(ch.Challenge, c.ctxID, subj)
	if err != nil {
		return nil, err
	}
	signed, err := SignXAdES(doc, a.Signer, a.Certificate, c.now())
	if err != nil {
		return nil, err
	}
	var q url.Values
	if a.VerifyCertificateChain {
		q = url.Values{"verifyCertificateChain": {"true"}}
	}
	var init AuthInit
	_, err = c.do(ctx, call{op: "auth xades-signature", method: http.MethodPost, path: "/auth/xades-signature",
		query: q, raw: signed, rawType: "application/xml"}, &init)
	if err != nil {
		return nil, err
	}
	return &init, nil
}

// AuthStatus returns the state of a login operation.
func (c *Client) AuthStatus(ctx context.Context, init *AuthInit) (*AuthStatus, error) {
	var st AuthStatus
	_, err := c.do(ctx, call{op: "auth status", method: http.MethodGet, path: "/auth/" + url.PathEscape(init.ReferenceNumber),
		token: init.AuthenticationToken.Token}, &st)
	if err != nil {
		return nil, err
	}
	return &st, nil
}

// WaitAuth polls the login status with backoff until it succeeds (200) or fails
// (a *StatusError with KSeF's code and description).
func (c *Client) WaitAuth(ctx context.Context, init *AuthInit) error {
	return c.pollUntil(ctx, func(ctx context.Context) (bool, error) {
		st, err := c.AuthStatus(ctx, init)
		if err != nil {
			return false, err
		}
		switch {
		case st.Status.Code == 200:
			return true, nil
		case st.Status.Code < 200:
			return false, nil
		}
		return false, &StatusError{Op: "authentication", Code: st.Status.Code, Description: st.Status.Description, Details: st.Status.Details}
	})
}

// Redeem exchanges the authentication token for access and refresh tokens. KSeF
// allows it once per login.
func (c *Client) Redeem(ctx context.Context, authToken Token) (*Tokens, error) {
	var t Tokens
	_, err := c.do(ctx, call{op: "auth redeem", method: http.MethodPost, path: "/auth/token/redeem", token: authToken.Token}, &t)
	if err != nil {
		return nil, err
	}
	t.Access.ValidUntil = earliestExpiry(t.Access)
	return &t, nil
}

// Refresh gets a new access token with the refresh token.
func (c *Client) Refresh(ctx context.Context, refresh Token) (Token, error) {
	var r struct {
		AccessToken Token `json:"accessToken"`
	}
	_, err := c.do(ctx, call{op: "auth refresh", method: http.MethodPost, path: "/auth/token/refresh", token: refresh.Token}, &r)
	if err != nil {
		return Token{}, err
	}
	r.AccessToken.ValidUntil = earliestExpiry(r.AccessToken)
	return r.AccessToken, nil
}

// SetTokens installs tokens kept from an earlier login (e.g. after a restart).
func (c *Client) SetTokens(t Tokens) {
	c.tokensMu.Lock()
	c.tokens = tokenState{access: t.Access, refresh: t.Refresh}
	c.tokensMu.Unlock()
}

// accessToken is the token source of the session calls: it refreshes the access
// token RefreshSkew before it expires and logs in again when there is no
// refresh token or KSeF rejects it. loginMu makes concurrent callers share one
// refresh or login instead of each starting their own.
func (c *Client) accessToken(ctx context.Context) (string, error) {
	c.loginMu.Lock()
	defer c.loginMu.Unlock()
	c.tokensMu.Lock()
	t := c.tokens
	c.tokensMu.Unlock()
	now := c.now()
	if t.access.Token != "" && now.Add(c.skew).Before(t.access.ValidUntil) {
		return t.access.Token, nil
	}
	if t.refresh.Token != "" && now.Before(t.refresh.ValidUntil) {
		acc, err := c.Refresh(ctx, t.refresh)
		if err == nil {
			c.tokensMu.Lock()
			c.tokens.access = acc
			c.tokensMu.Unlock()
			return acc.Token, nil
		}
		if !errors.Is(err, ErrUnauthorized) {
			return "", err
		}
		c.log.Info("ksef refresh token rejected, logging in again")
	}
	tok, err := c.Authenticate(ctx)
	if err != nil {
		return "", err
	}
	return tok.Access.Token, nil
}

// earliestExpiry returns the token's validUntil or its JWT exp, whichever is
// earlier: the JWT is what the server enforces.
func earliestExpiry(t Token) time.Time {
	exp, ok := jwtExpiry(t.Token)
	if !ok {
		return t.ValidUntil
	}
	if t.ValidUntil.IsZero() || exp.Before(t.ValidUntil) {
		return exp
	}
	return t.ValidUntil
}

// jwtExpiry reads the exp claim of a JWT without verifying it (the client is
// not the audience; it only needs to know when to refresh).
func jwtExpiry(tok string) (time.Time, bool) {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return time.Time{}, false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return time.Time{}, false
	}
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.Exp == "" {
		return time.Time{}, false
	}
	sec, err := claims.Exp.Int64()
	if err != nil || sec <= 0 {
		return time.Time{}, false
	}
	return time.Unix(sec, 0), true
}
