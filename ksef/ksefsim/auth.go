package ksefsim

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

func (s *Server) handlePublicKeys(c *call) (*response, error) {
	keys := s.st.activeKeys()
	out := make([]wirePublicKey, 0, len(keys))
	for _, k := range keys {
		out = append(out, wirePublicKey{
			Certificate: k.CertDER, CertificateID: k.CertID, PublicKeyID: k.PublicKeyID,
			ValidFrom: ts(k.ValidFrom), ValidTo: ts(k.ValidTo), Usage: []string{k.Usage},
		})
	}
	return jsonResp(http.StatusOK, out), nil
}

// AddToken makes the simulator accept a KSeF token for a context NIP.
func (s *Server) AddToken(token, nip string) error {
	if token == "" || strings.Contains(token, "|") || !isNIP(nip) {
		return fmt.Errorf("%w: token must be non-empty without '|', context a NIP", ErrOptions)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.opts.Tokens == nil {
		s.opts.Tokens = map[string]string{}
	}
	s.opts.Tokens[token] = nip
	return nil
}

func (s *Server) handleChallenge(c *call) (*response, error) {
	ch := &challenge{Value: newRef(c.now, "CR"), Created: c.now, IP: c.ip}
	s.st.Challenges[ch.Value] = ch
	// Forget challenges nobody can use any more.
	for k, v := range s.st.Challenges {
		if c.now.Sub(v.Created) > 2*challengeTTL {
			delete(s.st.Challenges, k)
		}
	}
	return jsonResp(http.StatusOK, wireChallenge{
		Challenge: ch.Value, Timestamp: ts(c.now), TimestampMs: c.now.UnixMilli(), ClientIP: c.ip,
	}), nil
}

// useChallenge checks that value is a live, unused challenge and burns it.
func (s *Server) useChallenge(value string, now time.Time) (*challenge, error) {
	ch, ok := s.st.Challenges[value]
	if !ok || ch.Used || now.Sub(ch.Created) > challengeTTL {
		return nil, badRequest(21111, "Wyzwanie jest nieznane, zużyte lub wygasło.")
	}
	ch.Used = true
	return ch, nil
}

func decodeJSON(body []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(body))
	if err := dec.Decode(v); err != nil {
		return badRequest(21405, "Nieprawidłowy JSON: "+err.Error())
	}
	return nil
}

func (s *Server) handleTokenAuth(c *call) (*response, error) {
	var req wireTokenAuthRequest
	if err := decodeJSON(c.body, &req); err != nil {
		return nil, err
	}
	if req.ContextIdentifier == nil || req.ContextIdentifier.Type != "Nip" || !isNIP(req.ContextIdentifier.Value) {
		return nil, badRequest(21405, "contextIdentifier: wymagany typ Nip z poprawnym NIP.")
	}
	if len(req.EncryptedToken) == 0 {
		return nil, badRequest(21405, "encryptedToken jest wymagany.")
	}
	key, err := s.st.keyFor(UsageTokenEncryption, req.PublicKeyID)
	if err != nil {
		return nil, err
	}
	ch, err := s.useChallenge(req.Challenge, c.now)
	if err != nil {
		return nil, err
	}
	op := s.newAuthOp(c, req.ContextIdentifier.Value, methodToken)
	// Failures below are reported asynchronously, as status 450.
	plain, derr := rsa.DecryptOAEP(sha256.New(), nil, key.priv, req.EncryptedToken, nil)
	tok, msStr, found := strings.Cut(string(plain), "|")
	ms, perr := strconv.ParseInt(msStr, 10, 64)
	nip, known := s.opts.Tokens[tok]
	switch {
	case !c.now.Before(s.opts.TokenAuthEnd):
		// § 13 ust. 1 pkt 1 of the KSeF regulation of 12.12.2025: tokens
		// authenticate until 31 December 2026 only.
		op.fail(450, "Token nieaktywny: tokeny KSeF nie służą do uwierzytelniania od "+s.opts.TokenAuthEnd.In(warsaw).Format("2006-01-02 15:04")+" (Europe/Warsaw).")
	case derr != nil || !found:
		op.fail(450, "Nie udało się odszyfrować tokena.")
	case perr != nil || ms != ch.Created.UnixMilli():
		op.fail(450, "Nieprawidłowy czas tokena: znacznik czasu nie odpowiada wyzwaniu.")
	case !known:
		op.fail(450, "Nieprawidłowy token.")
	case nip != op.NIP:
		op.fail(415, "Token nie uprawnia do działania w kontekście "+op.NIP+".")
	default:
		sum := sha256.Sum256([]byte(tok))
		op.TokenRef = refFromHash(c.now, "TK", sum[:])
	}
	return jsonResp(http.StatusAccepted, wireAuthInit{
		ReferenceNumber:     op.Ref,
		AuthenticationToken: wireTokenInfo{Token: op.OpToken, ValidUntil: ts(op.OpTokenTil)},
	}), nil
}

func (s *Server) handleXAdESAuth(c *call) (*response, error) {
	if ct := c.r.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "xml") {
		return nil, badRequest(21405, "Oczekiwano Content-Type application/xml.")
	}
	req, cert, err := VerifyAuthTokenRequest(c.body, c.now)
	if err != nil {
		var xe *XAdESError
		if errors.As(err, &xe) {
			return nil, badRequest(xe.Code, xe.Msg)
		}
		return nil, badRequest(9101, err.Error())
	}
	if _, err := s.useChallenge(req.Challenge, c.now); err != nil {
		return nil, err
	}
	if req.ContextType != "Nip" {
		return nil, badRequest(21117, "Symulator obsługuje tylko kontekst Nip.")
	}
	op := s.newAuthOp(c, req.ContextValue, methodXAdES)
	sum := sha256.Sum256(c.body)
	op.DocHash = base64.StdEncoding.EncodeToString(sum[:])
	subj := SubjectNIP(cert)
	op.Subject = subjectData(cert, subj)
	ksefIssued := s.st.issuedBy(cert)
	var simc *simCert
	why := ""
	if ksefIssued {
		simc, why = s.ksefCertCheck(cert, c.now)
		if simc != nil {
			op.CertSerial = simc.Serial
		}
	}
	switch {
	case why != "":
		op.fail(460, why)
	case c.r.URL.Query().Get("verifyCertificateChain") == "true" && !ksefIssued:
		// The simulator trusts only its own CA: a chain check (asked for
		// explicitly, as on TE) fails every other certificate.
		op.fail(460, "Nie można zweryfikować łańcucha certyfikatów: brak zaufanego wystawcy.")
	case subj != req.ContextValue:
		op.fail(415, fmt.Sprintf("Podmiot certyfikatu (NIP %s) nie ma uprawnień w kontekście %s.", subj, req.ContextValue))
	}
	if simc != nil && op.Code == 200 {
		// lastUseDate is the certificate's last login, not one it failed.
		simc.LastUse = ptr(c.now)
	}
	return jsonResp(http.StatusAccepted, wireAuthInit{
		ReferenceNumber:     op.Ref,
		AuthenticationToken: wireTokenInfo{Token: op.OpToken, ValidUntil: ts(op.OpTokenTil)},
	}), nil
}

func (s *Server) newAuthOp(c *call, nip, method string) *authOp {
	op := &authOp{
		Ref: newRef(c.now, "AU"), NIP: nip, Method: method, Started: c.now,
		ReadyAt: c.now.Add(s.opts.ProcessingDelay), Code: 200, Desc: "Uwierzytelnianie zakończone sukcesem",
		OpToken: randToken(), OpTokenTil: c.now.Add(DefaultAuthTokenTTL),
	}
	s.st.AuthOps[op.Ref] = op
	s.st.Grants[op.OpToken] = &grant{Kind: authOperation, NIP: nip, AuthRef: op.Ref, ValidUntil: op.OpTokenTil}
	return op
}

func (op *authOp) fail(code int, detail string) {
	op.Code, op.Details = code, []string{detail}
	switch code {
	case 415:
		op.Desc = "Uwierzytelnianie zakończone niepowodzeniem z powodu braku przypisanych uprawnień"
	case 450:
		op.Desc = "Uwierzytelnianie zakończone niepowodzeniem z powodu błędnego tokenu"
	default:
		op.Desc = "Uwierzytelnianie zakończone niepowodzeniem"
	}
}

// authenticate resolves the bearer token of c for a route needing kind.
func (s *Server) authenticate(c *call, kind authKind) error {
	h := c.r.Header.Get("Authorization")
	tok, ok := strings.CutPrefix(h, "Bearer ")
	unauth := &apiError{status: http.StatusUnauthorized, code: 401, desc: "Wymagane jest uwierzytelnienie."}
	if !ok || tok == "" {
		return unauth
	}
	g := s.st.Grants[tok]
	if g == nil || g.Kind != kind || !c.now.Before(g.ValidUntil) {
		return unauth
	}
	c.bearer, c.nip, c.authRef = tok, g.NIP, g.AuthRef
	return nil
}

func (s *Server) handleAuthStatus(c *call) (*response, error) {
	op := s.st.AuthOps[c.r.PathValue("ref")]
	if op == nil || op.Ref != c.authRef {
		return nil, badRequest(21304, "Operacja uwierzytelniania o numerze referencyjnym "+c.r.PathValue("ref")+" nie została znaleziona.")
	}
	st := wireStatus{Code: op.Code, Description: op.Desc, Details: op.Details}
	if c.now.Before(op.ReadyAt) {
		st = wireStatus{Code: 100, Description: "Uwierzytelnianie w toku"}
	}
	info := wireMethodInfo{Category: methodToken, Code: "token.ksef", DisplayName: "Token KSeF"}
	method := "Token"
	switch {
	case op.Method == methodXAdES && op.CertSerial != "":
		info = wireMethodInfo{Category: methodXAdES, Code: "xades.ksef", DisplayName: "Certyfikat KSeF"}
		method = "InternalCertificate"
	case op.Method == methodXAdES:
		info = wireMethodInfo{Category: methodXAdES, Code: "xades.selfsigned", DisplayName: "Podpis XAdES"}
		method = "QualifiedSeal"
	}
	return jsonResp(http.StatusOK, wireAuthStatus{
		StartDate: ts(op.Started), AuthenticationMethod: method, AuthenticationMethodInfo: info,
		Status: st, IsTokenRedeemed: ptr(op.Redeemed),
	}), nil
}

func (s *Server) handleRedeem(c *call) (*response, error) {
	op := s.st.AuthOps[c.authRef]
	if op == nil {
		return nil, badRequest(21304)
	}
	if op.Redeemed {
		return nil, badRequest(21301, "Tokeny dla operacji uwierzytelniania "+op.Ref+" zostały już pobrane.")
	}
	if c.now.Before(op.ReadyAt) || op.Code != 200 {
		code := op.Code
		if c.now.Before(op.ReadyAt) {
			code = 100
		}
		return nil, badRequest(21301, fmt.Sprintf("Status uwierzytelniania (%d) nie pozwala na pobranie tokenów.", code))
	}
	op.Redeemed = true
	access, refresh := randToken(), randToken()
	aUntil, rUntil := s.tokenUntil(op, c.now.Add(s.opts.AccessTokenTTL)), s.tokenUntil(op, c.now.Add(DefaultRefreshTokenTTL))
	s.st.Grants[access] = &grant{Kind: authAccess, NIP: op.NIP, AuthRef: op.Ref, ValidUntil: aUntil}
	s.st.Grants[refresh] = &grant{Kind: authRefresh, NIP: op.NIP, AuthRef: op.Ref, ValidUntil: rUntil}
	s.pruneGrants(c.now)
	return jsonResp(http.StatusOK, wireTokens{
		AccessToken:  wireTokenInfo{Token: access, ValidUntil: ts(aUntil)},
		RefreshToken: &wireTokenInfo{Token: refresh, ValidUntil: ts(rUntil)},
	}), nil
}

// tokenUntil caps the lifetime of tokens from a KSeF-token login at the end
// of token authentication: a login made on 31 December does not reach into
// 2027.
func (s *Server) tokenUntil(op *authOp, until time.Time) time.Time {
	if op != nil && op.Method == methodToken && until.After(s.opts.TokenAuthEnd) {
		return s.opts.TokenAuthEnd
	}
	return until
}

func (s *Server) handleRefresh(c *call) (*response, error) {
	access := randToken()
	aUntil := s.tokenUntil(s.st.AuthOps[c.authRef], c.now.Add(s.opts.AccessTokenTTL))
	s.st.Grants[access] = &grant{Kind: authAccess, NIP: c.nip, AuthRef: c.authRef, ValidUntil: aUntil}
	return jsonResp(http.StatusOK, wireTokens{AccessToken: wireTokenInfo{Token: access, ValidUntil: ts(aUntil)}}), nil
}

// pruneGrants forgets tokens that expired more than a day ago.
func (s *Server) pruneGrants(now time.Time) {
	for k, g := range s.st.Grants {
		if now.Sub(g.ValidUntil) > 24*time.Hour {
			delete(s.st.Grants, k)
		}
	}
}

// refFromHash is newRef with the random part taken from h, so the same input
// always gets the same reference.
func refFromHash(now time.Time, kind string, h []byte) string {
	x := strings.ToUpper(fmt.Sprintf("%x", h[:10]))
	head := now.In(warsaw).Format("20060102") + "-" + kind + "-" + x[:10] + "-" + x[10:20]
	return fmt.Sprintf("%s-%02X", head, crc8([]byte(head)))
}
