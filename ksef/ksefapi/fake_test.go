package ksefapi_test

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/openapischema"
	"github.com/posagent/posagent/ksef/ksefapi"
)

// The fake's clock: every test runs at this instant.
var fakeNow = time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)

const (
	fakeKsefToken  = "20251010-EC-1234567890-ABCDEF1234-56|nip-5265877635|secretsecret"
	fakeSessionRef = "20250625-SO-2C3E6C8000-B675CF5D68-07"
	fakeBatchRef   = "20250625-SB-2C3E6C8000-B675CF5D68-07"
	fakeAuthRef    = "20250514-AU-2DFC46C000-3AC6D5877F-D4"
	fakeEnrollRef  = "20251010-EH-1B6C9EB000-4B15D3AEB9-89"
	fakeChallenge  = "20250514-CR-226FB7B000-3ACF9BE4C0-10"
)

// mfKey is one MF public-key certificate of the fake.
type mfKey struct {
	priv  *rsa.PrivateKey
	der   []byte
	id    string
	usage string
}

var (
	mfKeysOnce sync.Once
	mfKeys     []*mfKey // [0] token, [1] symmetric, [2] symmetric (rotated in)
)

func newMFKey(t testing.TB, usage string, serial int64) *mfKey {
	t.Helper()
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "Ministerstwo Finansów"},
		NotBefore: fakeNow.Add(-24 * time.Hour), NotAfter: fakeNow.Add(365 * 24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return &mfKey{priv: priv, der: der, id: base64.StdEncoding.EncodeToString(sum[:]), usage: usage}
}

func theMFKeys(t testing.TB) []*mfKey {
	mfKeysOnce.Do(func() {
		mfKeys = []*mfKey{newMFKey(t, "KsefTokenEncryption", 1), newMFKey(t, "SymmetricKeyEncryption", 2), newMFKey(t, "SymmetricKeyEncryption", 3)}
	})
	return mfKeys
}

// fakeKSeF is a small KSeF API v2 stand-in: real crypto, OpenAPI-checked
// request and response bodies, and a hook to inject faults per request.
type fakeKSeF struct {
	t   *testing.T
	srv *httptest.Server
	doc *openapischema.Doc

	mu          sync.Mutex // guards every field below
	hook        func(w http.ResponseWriter, r *http.Request) bool
	keys        []*mfKey // published keys
	retired     map[string]bool
	calls       []string
	authPolls   int
	xadesCert   *x509.Certificate
	gotToken    string
	aesKey, iv  []byte
	invoices    [][]byte // decrypted online invoices, in order
	sendReqs    []map[string]any
	accessTok   string
	refreshes   int
	accessTTL   time.Duration
	batchParts  map[int][]byte
	batchOpen   map[string]any
	uploadAuth  []string
	sessionPoll int
}

func newFake(t *testing.T) *fakeKSeF {
	t.Helper()
	keys := theMFKeys(t)
	f := &fakeKSeF{t: t, doc: openapischema.Load(t), keys: keys[:2], retired: map[string]bool{},
		accessTok: jwt(fakeNow.Add(15 * time.Minute)), accessTTL: 15 * time.Minute, batchParts: map[int][]byte{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v2/security/public-key-certificates", f.publicKeys)
	mux.HandleFunc("POST /v2/auth/challenge", f.challenge)
	mux.HandleFunc("POST /v2/auth/ksef-token", f.ksefToken)
	mux.HandleFunc("POST /v2/auth/xades-signature", f.xades)
	mux.HandleFunc("GET /v2/auth/{ref}", f.authStatus)
	mux.HandleFunc("POST /v2/auth/token/redeem", f.redeem)
	mux.HandleFunc("POST /v2/auth/token/refresh", f.refresh)
	mux.HandleFunc("POST /v2/sessions/online", f.openOnline)
	mux.HandleFunc("POST /v2/sessions/online/{ref}/invoices", f.sendInvoice)
	mux.HandleFunc("POST /v2/sessions/online/{ref}/close", f.closeSession)
	mux.HandleFunc("POST /v2/sessions/batch", f.openBatch)
	mux.HandleFunc("PUT /upload/{n}", f.uploadPart)
	mux.HandleFunc("POST /v2/sessions/batch/{ref}/close", f.closeSession)
	mux.HandleFunc("GET /v2/sessions/{ref}", f.sessionStatus)
	f.srv = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.calls = append(f.calls, r.Method+" "+r.URL.Path)
		hook := f.hook
		f.mu.Unlock()
		if r.Header.Get("X-Error-Format") != "problem-details" && !strings.HasPrefix(r.URL.Path, "/upload/") {
			t.Errorf("%s %s: X-Error-Format header missing", r.Method, r.URL.Path)
		}
		if hook != nil && hook(w, r) {
			return
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// client returns a Client for the fake with fast polling and a fixed clock.
func (f *fakeKSeF) client(t *testing.T, auth ksefapi.Credentials) *ksefapi.Client {
	t.Helper()
	c, err := ksefapi.New(ksefapi.Config{
		BaseURL: f.srv.URL + "/v2", HTTPClient: f.srv.Client(), Context: testCtx, Auth: auth,
		Now: func() time.Time { return fakeNow }, PollInterval: time.Millisecond, PollMax: 5 * time.Millisecond,
		AvailabilityURL: f.srv.URL + "/latarnia",
	})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return c
}

func (f *fakeKSeF) setHook(h func(w http.ResponseWriter, r *http.Request) bool) {
	f.mu.Lock()
	f.hook = h
	f.mu.Unlock()
}

func (f *fakeKSeF) count(call string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		if c == call {
			n++
		}
	}
	return n
}

// jwt makes an unsigned token with an exp claim (the client reads, never verifies it).
func jwt(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc([]byte(fmt.Sprintf(`{"exp":%d,"n":%d}`, exp.Unix(), exp.UnixNano()))) + ".sig"
}

// reply validates body against the named response schema and writes it.
func (f *fakeKSeF) reply(w http.ResponseWriter, status int, schema string, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		f.t.Fatal(err)
	}
	if schema != "" {
		if err := f.doc.Validate(schema, b); err != nil {
			f.t.Errorf("fake response does not conform: %v\n%s", err, b)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}

// readJSON reads a request body and validates it against the request schema.
func (f *fakeKSeF) readJSON(r *http.Request, schema string) map[string]any {
	b, err := io.ReadAll(r.Body)
	if err != nil {
		f.t.Errorf("read body: %v", err)
		return nil
	}
	if err := f.doc.Validate(schema, b); err != nil {
		f.t.Errorf("%s %s: request does not conform: %v\n%s", r.Method, r.URL.Path, err, b)
	}
	var m map[string]any
	json.Unmarshal(b, &m)
	return m
}

func (f *fakeKSeF) problem(w http.ResponseWriter, status, code int, desc string, details ...string) {
	if details == nil {
		details = []string{}
	}
	f.reply(w, status, "BadRequestProblemDetails", map[string]any{
		"title": "Bad Request", "status": status, "instance": "/v2/x", "detail": "Żądanie jest nieprawidłowe.",
		"errors":    []any{map[string]any{"code": code, "description": desc, "details": details}},
		"timestamp": "2025-07-11T12:23:56.0154302+00:00", "traceId": "673843e023c432286660bc0501a3af44",
	})
}

func (f *fakeKSeF) requireBearer(w http.ResponseWriter, r *http.Request, want string) bool {
	if got := r.Header.Get("Authorization"); got != "Bearer "+want {
		f.reply(w, http.StatusUnauthorized, "UnauthorizedProblemDetails", map[string]any{
			"title": "Unauthorized", "status": 401, "detail": "Brak lub nieprawidłowy token.", "timestamp": "2026-11-21T12:00:00Z"})
		return false
	}
	return true
}

func (f *fakeKSeF) key(id string) *mfKey {
	for _, k := range theMFKeys(f.t) {
		if k.id == id {
			return k
		}
	}
	return nil
}

func (f *fakeKSeF) publicKeys(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	keys := f.keys
	f.mu.Unlock()
	var out []any
	for _, k := range keys {
		item := map[string]any{"certificate": k.der, "certificateId": k.id, "publicKeyId": k.id,
			"validFrom": "2026-11-20T12:00:00Z", "validTo": "2027-11-20T12:00:00Z", "usage": []string{k.usage}}
		if err := f.doc.ValidateValue("PublicKeyCertificate", item); err != nil {
			f.t.Errorf("fake key: %v", err)
		}
		out = append(out, item)
	}
	f.reply(w, 200, "", out)
}

func (f *fakeKSeF) challenge(w http.ResponseWriter, r *http.Request) {
	f.reply(w, 200, "AuthenticationChallengeResponse", map[string]any{"challenge": fakeChallenge,
		"timestamp": "2025-07-11T12:23:56.0154302+00:00", "timestampMs": int64(1752236636015), "clientIp": "127.0.0.1"})
}

func (f *fakeKSeF) authInit(w http.ResponseWriter) {
	f.reply(w, 202, "AuthenticationInitResponse", map[string]any{"referenceNumber": fakeAuthRef,
		"authenticationToken": map[string]any{"token": "auth-op-token", "validUntil": "2026-11-21T12:10:00Z"}})
}

func (f *fakeKSeF) ksefToken(w http.ResponseWriter, r *http.Request) {
	m := f.readJSON(r, "InitTokenAuthenticationRequest")
	k := f.key(fmt.Sprint(m["publicKeyId"]))
	f.mu.Lock()
	retired := k == nil || f.retired[k.id]
	f.mu.Unlock()
	if retired {
		f.problem(w, 400, 21470, "Nieznany klucz publiczny.")
		return
	}
	ct, _ := base64.StdEncoding.DecodeString(fmt.Sprint(m["encryptedToken"]))
	plain, err := rsa.DecryptOAEP(sha256.New(), nil, k.priv, ct, nil)
	if err != nil {
		f.problem(w, 400, 21405, "decrypt")
		return
	}
	f.mu.Lock()
	f.gotToken = string(plain)
	f.mu.Unlock()
	f.authInit(w)
}

func (f *fakeKSeF) xades(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); ct != "application/xml" {
		f.t.Errorf("xades content type %q", ct)
	}
	b, _ := io.ReadAll(r.Body)
	cert, err := ksefapi.VerifyXAdES(b)
	if err != nil {
		f.problem(w, 400, 21117, "Nieprawidłowy podpis", err.Error())
		return
	}
	if !bytes.Contains(b, []byte(fakeChallenge)) {
		f.problem(w, 400, 21111, "Nieprawidłowe wyzwanie")
		return
	}
	f.mu.Lock()
	f.xadesCert = cert
	f.mu.Unlock()
	f.authInit(w)
}

func (f *fakeKSeF) authStatus(w http.ResponseWriter, r *http.Request) {
	if !f.requireBearer(w, r, "auth-op-token") {
		return
	}
	f.mu.Lock()
	f.authPolls++
	n := f.authPolls
	f.mu.Unlock()
	code, desc := 100, "Uwierzytelnianie w toku"
	if n >= 2 {
		code, desc = 200, "Uwierzytelnianie zakończone sukcesem"
	}
	f.reply(w, 200, "AuthenticationOperationStatusResponse", map[string]any{
		"startDate": "2026-11-21T12:00:00Z", "authenticationMethod": "Token",
		"authenticationMethodInfo": map[string]any{"category": "Token", "code": "token.ksef", "displayName": "Token KSeF"},
		"status":                   map[string]any{"code": code, "description": desc}})
}

func (f *fakeKSeF) redeem(w http.ResponseWriter, r *http.Request) {
	if !f.requireBearer(w, r, "auth-op-token") {
		return
	}
	f.mu.Lock()
	tok := f.accessTok
	f.mu.Unlock()
	f.reply(w, 200, "AuthenticationTokensResponse", map[string]any{
		"accessToken":  map[string]any{"token": tok, "validUntil": "2026-11-21T13:00:00Z"},
		"refreshToken": map[string]any{"token": "refresh-token", "validUntil": "2026-11-28T12:00:00Z"}})
}

func (f *fakeKSeF) refresh(w http.ResponseWriter, r *http.Request) {
	if !f.requireBearer(w, r, "refresh-token") {
		return
	}
	f.mu.Lock()
	f.refreshes++
	f.accessTok = jwt(fakeNow.Add(time.Duration(f.refreshes) * time.Hour))
	tok := f.accessTok
	f.mu.Unlock()
	f.reply(w, 200, "AuthenticationTokenRefreshResponse", map[string]any{
		"accessToken": map[string]any{"token": tok, "validUntil": "2026-11-21T18:00:00Z"}})
}

func (f *fakeKSeF) bearerOK(w http.ResponseWriter, r *http.Request) bool {
	f.mu.Lock()
	tok := f.accessTok
	f.mu.Unlock()
	return f.requireBearer(w, r, tok)
}

// unwrapSessionKey decrypts an EncryptionInfo like KSeF does.
func (f *fakeKSeF) unwrapSessionKey(w http.ResponseWriter, enc map[string]any) bool {
	k := f.key(fmt.Sprint(enc["publicKeyId"]))
	f.mu.Lock()
	retired := k == nil || f.retired[k.id]
	f.mu.Unlock()
	if retired {
		f.problem(w, 400, 21470, "Nieznany klucz publiczny.")
		return false
	}
	wrapped, _ := base64.StdEncoding.DecodeString(fmt.Sprint(enc["encryptedSymmetricKey"]))
	key, err := rsa.DecryptOAEP(sha256.New(), nil, k.priv, wrapped, nil)
	iv, _ := base64.StdEncoding.DecodeString(fmt.Sprint(enc["initializationVector"]))
	if err != nil || len(key) != 32 || len(iv) != 16 {
		f.problem(w, 400, 21405, "Błąd odszyfrowania klucza")
		return false
	}
	f.mu.Lock()
	f.aesKey, f.iv = key, iv
	f.mu.Unlock()
	return true
}

func (f *fakeKSeF) openOnline(w http.ResponseWriter, r *http.Request) {
	if !f.bearerOK(w, r) {
		return
	}
	m := f.readJSON(r, "OpenOnlineSessionRequest")
	if fc, _ := m["formCode"].(map[string]any); fc["systemCode"] != "FA (3)" || fc["schemaVersion"] != "1-0E" || fc["value"] != "FA" {
		f.problem(w, 400, 21405, "Wskazany kod formularza nie jest wspierany.")
		return
	}
	enc, _ := m["encryption"].(map[string]any)
	if !f.unwrapSessionKey(w, enc) {
		return
	}
	f.reply(w, 201, "OpenOnlineSessionResponse", map[string]any{"referenceNumber": fakeSessionRef, "validUntil": "2026-11-22T00:00:00Z"})
}

func (f *fakeKSeF) sendInvoice(w http.ResponseWriter, r *http.Request) {
	if !f.bearerOK(w, r) {
		return
	}
	m := f.readJSON(r, "SendInvoiceRequest")
	ct, _ := base64.StdEncoding.DecodeString(fmt.Sprint(m["encryptedInvoiceContent"]))
	f.mu.Lock()
	key, iv := f.aesKey, f.iv
	f.mu.Unlock()
	plain, err := ksefapi.DecryptCBC(key, iv, ct)
	switch {
	case err != nil:
		f.problem(w, 400, 21405, "decrypt", err.Error())
		return
	case fmt.Sprint(m["encryptedInvoiceHash"]) != b64sum(ct) || fmt.Sprint(m["invoiceHash"]) != b64sum(plain):
		f.problem(w, 400, 21403, "Nieprawidłowy skrót")
		return
	case m["invoiceSize"] != float64(len(plain)) || m["encryptedInvoiceSize"] != float64(len(ct)):
		f.problem(w, 400, 21402, "Nieprawidłowy rozmiar")
		return
	}
	f.mu.Lock()
	f.invoices = append(f.invoices, plain)
	f.sendReqs = append(f.sendReqs, m)
	n := len(f.invoices)
	f.mu.Unlock()
	f.reply(w, 202, "SendInvoiceResponse", map[string]any{"referenceNumber": fmt.Sprintf("20250625-EE-319D7EE000-B67F415CDC-%02X", n)})
}

func b64sum(b []byte) string {
	s := sha256.Sum256(b)
	return base64.StdEncoding.EncodeToString(s[:])
}

func (f *fakeKSeF) closeSession(w http.ResponseWriter, r *http.Request) {
	if !f.bearerOK(w, r) {
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (f *fakeKSeF) sessionStatus(w http.ResponseWriter, r *http.Request) {
	if !f.bearerOK(w, r) {
		return
	}
	f.mu.Lock()
	f.sessionPoll++
	n := f.sessionPoll
	f.mu.Unlock()
	st := map[string]any{"code": 150, "description": "Trwa przetwarzanie"}
	body := map[string]any{"dateCreated": "2026-11-21T12:00:00Z", "dateUpdated": "2026-11-21T12:00:01Z", "status": st}
	if n >= 2 {
		body["status"] = map[string]any{"code": 200, "description": "Sesja przetworzona pomyślnie"}
		body["invoiceCount"], body["successfulInvoiceCount"], body["failedInvoiceCount"] = 3, 3, 0
		body["upo"] = map[string]any{"pages": []any{map[string]any{"referenceNumber": "20250625-EU-319D7EE000-B67F415CDC-2C",
			"downloadUrl": f.srv.URL + "/upo/1", "downloadUrlExpirationDate": "2026-11-22T00:00:00Z"}}}
	}
	f.reply(w, 200, "SessionStatusResponse", body)
}

func (f *fakeKSeF) openBatch(w http.ResponseWriter, r *http.Request) {
	if !f.bearerOK(w, r) {
		return
	}
	m := f.readJSON(r, "OpenBatchSessionRequest")
	enc, _ := m["encryption"].(map[string]any)
	if !f.unwrapSessionKey(w, enc) {
		return
	}
	f.mu.Lock()
	f.batchOpen = m
	f.mu.Unlock()
	bf, _ := m["batchFile"].(map[string]any)
	parts, _ := bf["fileParts"].([]any)
	var reqs []any
	for i := range parts {
		reqs = append(reqs, map[string]any{"ordinalNumber": i + 1, "method": "PUT",
			"url": fmt.Sprintf("%s/upload/%d?sig=abc", f.srv.URL, i+1), "headers": map[string]any{"x-ms-blob-type": "BlockBlob"}})
	}
	f.reply(w, 201, "OpenBatchSessionResponse", map[string]any{"referenceNumber": fakeBatchRef, "partUploadRequests": reqs})
}

func (f *fakeKSeF) uploadPart(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	var n int
	fmt.Sscan(r.PathValue("n"), &n)
	f.mu.Lock()
	f.batchParts[n] = b
	f.uploadAuth = append(f.uploadAuth, r.Header.Get("Authorization")+"|"+r.Header.Get("x-ms-blob-type"))
	f.mu.Unlock()
	w.WriteHeader(http.StatusCreated)
}

// batchFiles decrypts and joins the uploaded parts, checks every declared hash
// and size, and returns the ZIP's files.
func (f *fakeKSeF) batchFiles(t *testing.T) map[string][]byte {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	bf := f.batchOpen["batchFile"].(map[string]any)
	var zipBytes []byte
	for i, p := range bf["fileParts"].([]any) {
		part := p.(map[string]any)
		ct := f.batchParts[i+1]
		if part["fileHash"] != b64sum(ct) || part["fileSize"] != float64(len(ct)) {
			t.Fatalf("part %d: declared hash/size do not match the upload", i+1)
		}
		plain, err := ksefapi.DecryptCBC(f.aesKey, f.iv, ct)
		if err != nil {
			t.Fatalf("part %d: %v", i+1, err)
		}
		zipBytes = append(zipBytes, plain...)
	}
	if bf["fileHash"] != b64sum(zipBytes) || bf["fileSize"] != float64(len(zipBytes)) {
		t.Fatal("archive hash/size do not match the joined parts")
	}
	zr, err := zip.NewReader(bytes.NewReader(zipBytes), int64(len(zipBytes)))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]byte{}
	for _, zf := range zr.File {
		rc, err := zf.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		out[zf.Name] = b
	}
	return out
}

func filepathGlob(dir string) ([]string, error) { return filepath.Glob(filepath.Join(dir, "*")) }
