package ksefsim_test

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/openapischema"
	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/ksef/ksefsim"
)

const (
	testNIP   = "5265877635"
	otherNIP  = "1111111111"
	testToken = "sim-token-5265877635"
)

// clock is a settable clock for the simulator.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// env is one simulator behind httptest plus a tiny client written from the
// docs with Go's own crypto.
type env struct {
	t     *testing.T
	sim   *ksefsim.Server
	srv   *httptest.Server
	clk   *clock
	hc    *http.Client
	doc   *openapischema.Doc
	extra http.Header
}

func newEnv(t *testing.T, opts *ksefsim.Options) *env {
	t.Helper()
	clk := &clock{t: time.Date(2026, 3, 10, 10, 0, 0, 0, time.UTC)}
	if opts == nil {
		opts = &ksefsim.Options{}
	}
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	if opts.Tokens == nil {
		opts.Tokens = map[string]string{testToken: testNIP}
	}
	sim, err := ksefsim.New(opts)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(func() { srv.Close(); _ = sim.Close() })
	return &env{t: t, sim: sim, srv: srv, clk: clk, hc: &http.Client{Timeout: 10 * time.Second}, doc: openapischema.Load(t)}
}

// sub returns e reporting to a subtest's t.
func (e *env) sub(t *testing.T) *env {
	c := *e
	c.t = t
	return &c
}

type result struct {
	status int
	header http.Header
	body   []byte
}

func (r result) json(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// do sends a request; body is JSON unless it is []byte (sent as XML).
func (e *env) do(method, path, bearer string, body any) result {
	e.t.Helper()
	r, err := e.try(method, path, bearer, body)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// try is do for goroutines: it reports failures instead of stopping the test.
func (e *env) try(method, path, bearer string, body any) (result, error) {
	var rd io.Reader
	ctype := ""
	switch b := body.(type) {
	case nil:
	case []byte:
		rd, ctype = bytes.NewReader(b), "application/xml"
	default:
		j, err := json.Marshal(b)
		if err != nil {
			return result{}, err
		}
		rd, ctype = bytes.NewReader(j), "application/json"
	}
	url := path
	if strings.HasPrefix(path, "/") {
		url = e.srv.URL + path
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return result{}, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	for k, v := range e.extra {
		req.Header[k] = v
	}
	resp, err := e.hc.Do(req)
	if err != nil {
		return result{}, fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return result{}, fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	return result{status: resp.StatusCode, header: resp.Header, body: b}, nil
}

// want checks the status and validates the body against an OpenAPI schema.
func (e *env) want(r result, status int, schema string) {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	if schema != "" {
		if err := e.doc.Validate(schema, r.body); err != nil {
			e.t.Fatalf("body does not conform to %s: %v\n%s", schema, err, r.body)
		}
	}
}

// wantCode checks a legacy ExceptionResponse for status and KSeF code.
func (e *env) wantCode(r result, status, code int) {
	e.t.Helper()
	e.want(r, status, "ExceptionResponse")
	var x struct {
		Exception struct {
			ExceptionDetailList []struct {
				ExceptionCode int `json:"exceptionCode"`
			} `json:"exceptionDetailList"`
		} `json:"exception"`
	}
	r.json(e.t, &x)
	if len(x.Exception.ExceptionDetailList) != 1 || x.Exception.ExceptionDetailList[0].ExceptionCode != code {
		e.t.Fatalf("exception = %s, want code %d", r.body, code)
	}
}

type pubKey struct {
	id  string
	key *rsa.PublicKey
}

func (e *env) publicKey(usage string) pubKey {
	e.t.Helper()
	r := e.do("GET", "/v2/security/public-key-certificates", "", nil)
	e.want(r, 200, "")
	var raws []json.RawMessage
	r.json(e.t, &raws)
	for _, raw := range raws {
		if err := e.doc.Validate("PublicKeyCertificate", raw); err != nil {
			e.t.Fatalf("public key does not conform: %v", err)
		}
		var k struct {
			Certificate   []byte   `json:"certificate"`
			CertificateID string   `json:"certificateId"`
			PublicKeyID   string   `json:"publicKeyId"`
			Usage         []string `json:"usage"`
		}
		if err := json.Unmarshal(raw, &k); err != nil {
			e.t.Fatal(err)
		}
		if len(k.Usage) == 1 && k.Usage[0] == usage {
			cert, err := x509.ParseCertificate(k.Certificate)
			if err != nil {
				e.t.Fatal(err)
			}
			spki := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
			cid := sha256.Sum256(k.Certificate)
			if got := base64.StdEncoding.EncodeToString(spki[:]); got != k.PublicKeyID {
				e.t.Fatalf("publicKeyId = %s, want Base64(SHA-256(SPKI)) %s", k.PublicKeyID, got)
			}
			if got := base64.StdEncoding.EncodeToString(cid[:]); got != k.CertificateID {
				e.t.Fatalf("certificateId = %s, want Base64(SHA-256(DER)) %s", k.CertificateID, got)
			}
			return pubKey{id: k.PublicKeyID, key: cert.PublicKey.(*rsa.PublicKey)}
		}
	}
	e.t.Fatalf("no key with usage %s", usage)
	return pubKey{}
}

type challengeResp struct {
	Challenge   string `json:"challenge"`
	TimestampMs int64  `json:"timestampMs"`
}

func (e *env) challenge() challengeResp {
	e.t.Helper()
	r := e.do("POST", "/v2/auth/challenge", "", nil)
	e.want(r, 200, "AuthenticationChallengeResponse")
	var c challengeResp
	r.json(e.t, &c)
	return c
}

type authInit struct {
	ReferenceNumber     string `json:"referenceNumber"`
	AuthenticationToken struct {
		Token string `json:"token"`
	} `json:"authenticationToken"`
}

// startTokenAuth posts /auth/ksef-token and returns the raw result.
func (e *env) startTokenAuth(nip, token string, tsMs func(int64) int64) result {
	e.t.Helper()
	k := e.publicKey(ksefsim.UsageTokenEncryption)
	ch := e.challenge()
	ms := ch.TimestampMs
	if tsMs != nil {
		ms = tsMs(ms)
	}
	enc, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, k.key, fmt.Appendf(nil, "%s|%d", token, ms), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.do("POST", "/v2/auth/ksef-token", "", map[string]any{
		"challenge": ch.Challenge, "contextIdentifier": map[string]string{"type": "Nip", "value": nip},
		"encryptedToken": enc, "publicKeyId": k.id,
	})
}

func (e *env) authStatus(init authInit) (int, result) {
	e.t.Helper()
	r := e.do("GET", "/v2/auth/"+init.ReferenceNumber, init.AuthenticationToken.Token, nil)
	e.want(r, 200, "AuthenticationOperationStatusResponse")
	var st struct {
		Status struct {
			Code int `json:"code"`
		} `json:"status"`
	}
	r.json(e.t, &st)
	return st.Status.Code, r
}

type tokens struct {
	AccessToken  struct{ Token string } `json:"accessToken"`
	RefreshToken struct{ Token string } `json:"refreshToken"`
}

func (e *env) redeem(init authInit) tokens {
	e.t.Helper()
	if code, r := e.authStatus(init); code != 200 {
		e.t.Fatalf("auth status = %d, want 200: %s", code, r.body)
	}
	r := e.do("POST", "/v2/auth/token/redeem", init.AuthenticationToken.Token, nil)
	e.want(r, 200, "AuthenticationTokensResponse")
	var tk tokens
	r.json(e.t, &tk)
	return tk
}

// login authenticates with the test token and returns an access token.
func (e *env) login() string {
	e.t.Helper()
	r := e.startTokenAuth(testNIP, testToken, nil)
	e.want(r, 202, "AuthenticationInitResponse")
	var init authInit
	r.json(e.t, &init)
	return e.redeem(init).AccessToken.Token
}

type onlineSession struct {
	ref     string
	key, iv []byte
}

func (e *env) openOnline(access string) onlineSession {
	e.t.Helper()
	k := e.publicKey(ksefsim.UsageSymmetricEncryption)
	s := onlineSession{key: randBytes(e.t, 32), iv: randBytes(e.t, 16)}
	wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, k.key, s.key, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	r := e.do("POST", "/v2/sessions/online", access, map[string]any{
		"formCode":   map[string]string{"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
		"encryption": map[string]any{"encryptedSymmetricKey": wrapped, "initializationVector": s.iv, "publicKeyId": k.id},
	})
	e.want(r, 201, "OpenOnlineSessionResponse")
	var out struct{ ReferenceNumber string }
	r.json(e.t, &out)
	s.ref = out.ReferenceNumber
	return s
}

func randBytes(t *testing.T, n int) []byte {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func encryptCBC(t *testing.T, key, iv, plain []byte) []byte {
	block, err := aes.NewCipher(key)
	if err != nil {
		t.Fatal(err)
	}
	pad := aes.BlockSize - len(plain)%aes.BlockSize
	buf := append(append([]byte{}, plain...), bytes.Repeat([]byte{byte(pad)}, pad)...)
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(buf, buf)
	return buf
}

func b64sha(b []byte) string {
	h := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(h[:])
}

// sendReq builds a SendInvoiceRequest body; mutate lets a test break it.
func sendReq(t *testing.T, s onlineSession, xml []byte, offline bool, corrects string) map[string]any {
	enc := encryptCBC(t, s.key, s.iv, xml)
	m := map[string]any{
		"invoiceHash": b64sha(xml), "invoiceSize": len(xml),
		"encryptedInvoiceHash": b64sha(enc), "encryptedInvoiceSize": len(enc),
		"encryptedInvoiceContent": enc, "offlineMode": offline,
	}
	if corrects != "" {
		m["hashOfCorrectedInvoice"] = corrects
	}
	return m
}

func (e *env) send(access string, s onlineSession, xml []byte, offline bool) string {
	e.t.Helper()
	r := e.do("POST", "/v2/sessions/online/"+s.ref+"/invoices", access, sendReq(e.t, s, xml, offline, ""))
	e.want(r, 202, "SendInvoiceResponse")
	var out struct{ ReferenceNumber string }
	r.json(e.t, &out)
	return out.ReferenceNumber
}

type invStatus struct {
	OrdinalNumber   int     `json:"ordinalNumber"`
	InvoiceNumber   string  `json:"invoiceNumber"`
	KsefNumber      string  `json:"ksefNumber"`
	ReferenceNumber string  `json:"referenceNumber"`
	InvoiceHash     string  `json:"invoiceHash"`
	InvoicingMode   string  `json:"invoicingMode"`
	UpoDownloadURL  string  `json:"upoDownloadUrl"`
	InvoiceFileName *string `json:"invoiceFileName"`
	Status          struct {
		Code       int               `json:"code"`
		Details    []string          `json:"details"`
		Extensions map[string]string `json:"extensions"`
	} `json:"status"`
}

func (e *env) invoice(access, sessRef, invRef string) invStatus {
	e.t.Helper()
	r := e.do("GET", "/v2/sessions/"+sessRef+"/invoices/"+invRef, access, nil)
	e.want(r, 200, "SessionInvoiceStatusResponse")
	var st invStatus
	r.json(e.t, &st)
	return st
}

var template = func() string {
	b, err := os.ReadFile(testutil.Official("ksef/samples/invoice-template-fa-3.xml"))
	if err != nil {
		panic(err)
	}
	return string(b)
}()

// invoiceXML is the official FA(3) template with a seller, number and P_1.
func invoiceXML(nip, number, p1 string) []byte {
	s := strings.ReplaceAll(template, "#nip#", nip)
	s = strings.ReplaceAll(s, "FA/GRQMB-#invoice_number#/05/2025", number)
	s = strings.ReplaceAll(s, "<P_1>2025-09-01</P_1>", "<P_1>"+p1+"</P_1>")
	return []byte(s)
}
