package ksefsim_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef/ksefsim"
)

func TestSessionKeyDecryptFails(t *testing.T) {
	e := newEnv(t, nil)
	access := e.login()
	k := e.publicKey(ksefsim.UsageSymmetricEncryption)
	// A 16-byte key wraps fine but is not AES-256.
	wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, k.key, make([]byte, 16), nil)
	if err != nil {
		t.Fatal(err)
	}
	r := e.do("POST", "/v2/sessions/online", access, map[string]any{
		"formCode":   map[string]string{"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
		"encryption": map[string]any{"encryptedSymmetricKey": wrapped, "initializationVector": make([]byte, 16), "publicKeyId": k.id},
	})
	e.want(r, 201, "OpenOnlineSessionResponse")
	var out struct{ ReferenceNumber string }
	r.json(t, &out)
	r = e.do("GET", "/v2/sessions/"+out.ReferenceNumber, access, nil)
	e.want(r, 200, "SessionStatusResponse")
	if !strings.Contains(string(r.body), `"code":415`) {
		t.Fatalf("session = %s, want 415", r.body)
	}
	s := onlineSession{ref: out.ReferenceNumber, key: make([]byte, 32), iv: make([]byte, 16)}
	e.wantCode(e.do("POST", "/v2/sessions/online/"+s.ref+"/invoices", access, sendReq(t, s, invoiceXML(testNIP, "FV/1", "2026-03-10"), false, "")), 400, 21180)

	t.Run("FormCode", func(t *testing.T) {
		e := e.sub(t)
		r := e.do("POST", "/v2/sessions/online", access, map[string]any{
			"formCode":   map[string]string{"systemCode": "FA (2)", "schemaVersion": "1-0E", "value": "FA"},
			"encryption": map[string]any{"encryptedSymmetricKey": wrapped, "initializationVector": make([]byte, 16)},
		})
		e.wantCode(r, 400, 21405)
	})
}

func TestInvoiceDecryptFails(t *testing.T) {
	e := newEnv(t, nil)
	access := e.login()
	s := e.openOnline(access)
	ct := randBytes(t, 33) // not a whole number of AES blocks
	r := e.do("POST", "/v2/sessions/online/"+s.ref+"/invoices", access, map[string]any{
		"invoiceHash": b64sha([]byte("x")), "invoiceSize": 20,
		"encryptedInvoiceHash": b64sha(ct), "encryptedInvoiceSize": len(ct), "encryptedInvoiceContent": ct,
	})
	e.want(r, 202, "SendInvoiceResponse")
	var out struct{ ReferenceNumber string }
	r.json(t, &out)
	if st := e.invoice(access, s.ref, out.ReferenceNumber); st.Status.Code != 435 {
		t.Fatalf("status = %+v, want 435", st.Status)
	}
}

func TestBatchOverLimit(t *testing.T) {
	e := newEnv(t, &ksefsim.Options{SessionInvoiceLimit: 2})
	access := e.login()
	files := map[string][]byte{}
	for i := 0; i < 3; i++ {
		files[fmt.Sprintf("inv-%03d.xml", i)] = invoiceXML(testNIP, fmt.Sprintf("FV/O/%d", i), "2026-03-10")
	}
	ref, parts, ups := e.openBatch(access, files, 1, nil)
	e.want(e.do(ups[0].Method, ups[0].URL, "", parts[0].enc), 201, "")
	e.want(e.do("POST", "/v2/sessions/batch/"+ref+"/close", access, nil), 204, "")
	r := e.do("GET", "/v2/sessions/"+ref, access, nil)
	e.want(r, 200, "SessionStatusResponse")
	if !strings.Contains(string(r.body), `"code":420`) {
		t.Fatalf("session = %s, want 420", r.body)
	}
}

// TestConcurrentSends sends the same invoices from several goroutines: each
// duplicate key must be stored exactly once.
func TestConcurrentSends(t *testing.T) {
	e := newEnv(t, &ksefsim.Options{DisableRateLimits: true})
	access := e.login()
	s := e.openOnline(access)
	const workers, each = 4, 10
	bodies := make([]map[string]any, each)
	for i := range bodies {
		bodies[i] = sendReq(t, s, invoiceXML(testNIP, fmt.Sprintf("FV/C/%d", i), "2026-03-10"), false, "")
	}
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				r, err := e.try("POST", "/v2/sessions/online/"+s.ref+"/invoices", access, bodies[i])
				if err != nil {
					errs <- err
					continue
				}
				if r.status != 202 {
					errs <- fmt.Errorf("status %d: %s", r.status, r.body)
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got := e.sim.Invoices()
	if len(got) != each {
		t.Fatalf("stored %d invoices, want %d", len(got), each)
	}
	for _, inv := range got {
		if inv.Receipts != workers {
			t.Errorf("%s received %d times, want %d", inv.InvoiceNumber, inv.Receipts, workers)
		}
	}
}

// TestBatchThousand measures a 1 000-invoice batch end to end.
func TestBatchThousand(t *testing.T) {
	if testing.Short() {
		t.Skip("slow: 1 000 invoices")
	}
	e := newEnv(t, nil)
	access := e.login()
	files := map[string][]byte{}
	for i := 0; i < 1000; i++ {
		files[fmt.Sprintf("inv-%03d.xml", i)] = invoiceXML(testNIP, fmt.Sprintf("FV/T/%d", i), "2026-03-10")
	}
	start := time.Now()
	ref, parts, ups := e.openBatch(access, files, 2, nil)
	for i, u := range ups {
		e.want(e.do(u.Method, u.URL, "", parts[i].enc), 201, "")
	}
	e.want(e.do("POST", "/v2/sessions/batch/"+ref+"/close", access, nil), 204, "")
	r := e.do("GET", "/v2/sessions/"+ref, access, nil)
	e.want(r, 200, "SessionStatusResponse")
	if !strings.Contains(string(r.body), `"successfulInvoiceCount":1000`) {
		t.Fatalf("session = %s", r.body)
	}
	t.Logf("1 000-invoice batch: zip, encrypt, upload, process in %v", time.Since(start))
	if got := len(e.sim.Invoices()); got != 1000 {
		t.Fatalf("stored %d, want 1000", got)
	}
}
