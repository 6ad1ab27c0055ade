package ksefsim_test

import (
	"archive/zip"
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/posagent/posagent/ksef/ksefsim"
)

type batchPart struct {
	enc []byte
}

// openBatch zips files, splits the archive into n parts, encrypts each and
// opens a batch session.
func (e *env) openBatch(access string, files map[string][]byte, n int, tweak func(batchFile map[string]any)) (ref string, parts []batchPart, uploads []struct {
	OrdinalNumber int
	Method, URL   string
	Headers       map[string]string
}) {
	e.t.Helper()
	var zbuf bytes.Buffer
	zw := zip.NewWriter(&zbuf)
	for i := 0; i < len(files); i++ {
		name := fmt.Sprintf("inv-%03d.xml", i)
		w, err := zw.Create(name)
		if err != nil {
			e.t.Fatal(err)
		}
		w.Write(files[name])
	}
	if err := zw.Close(); err != nil {
		e.t.Fatal(err)
	}
	archive := zbuf.Bytes()
	k := e.publicKey(ksefsim.UsageSymmetricEncryption)
	key, iv := randBytes(e.t, 32), randBytes(e.t, 16)
	wrapped, err := rsa.EncryptOAEP(sha256.New(), rand.Reader, k.key, key, nil)
	if err != nil {
		e.t.Fatal(err)
	}
	size := (len(archive) + n - 1) / n
	var decl []map[string]any
	for i := 0; i < n; i++ {
		lo, hi := i*size, min((i+1)*size, len(archive))
		enc := encryptCBC(e.t, key, iv, archive[lo:hi])
		parts = append(parts, batchPart{enc: enc})
		decl = append(decl, map[string]any{"ordinalNumber": i + 1, "fileSize": len(enc), "fileHash": b64sha(enc)})
	}
	bf := map[string]any{"fileSize": len(archive), "fileHash": b64sha(archive), "fileParts": decl}
	if tweak != nil {
		tweak(bf)
	}
	r := e.do("POST", "/v2/sessions/batch", access, map[string]any{
		"formCode":   map[string]string{"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
		"batchFile":  bf,
		"encryption": map[string]any{"encryptedSymmetricKey": wrapped, "initializationVector": iv, "publicKeyId": k.id},
	})
	e.want(r, 201, "OpenBatchSessionResponse")
	var out struct {
		ReferenceNumber    string
		PartUploadRequests []struct {
			OrdinalNumber int
			Method, URL   string
			Headers       map[string]string
		}
	}
	r.json(e.t, &out)
	return out.ReferenceNumber, parts, out.PartUploadRequests
}

func TestBatchSession(t *testing.T) {
	e := newEnv(t, nil)
	access := e.login()
	files := map[string][]byte{}
	for i := 0; i < 7; i++ {
		p1 := "2026-03-10"
		if i == 0 {
			p1 = "2026-03-09" // earlier than the session open day: Offline
		}
		files[fmt.Sprintf("inv-%03d.xml", i)] = invoiceXML(testNIP, fmt.Sprintf("FV/B/%d", i), p1)
	}
	files["inv-006.xml"] = invoiceXML(testNIP, "FV/B/1", "2026-03-10") // duplicate of inv-001
	ref, parts, ups := e.openBatch(access, files, 3, nil)
	if len(ups) != 3 {
		t.Fatalf("%d upload requests, want 3", len(ups))
	}
	t.Run("CloseBeforeUpload", func(t *testing.T) {
		e := e.sub(t)
		e.wantCode(e.do("POST", "/v2/sessions/batch/"+ref+"/close", access, nil), 400, 21205)
	})
	t.Run("WrongPart", func(t *testing.T) {
		e := e.sub(t)
		e.wantCode(e.do(ups[0].Method, ups[0].URL, "", parts[0].enc[16:]), 400, 21157)
		bad := append([]byte{}, parts[0].enc...)
		bad[0] ^= 1
		e.wantCode(e.do(ups[0].Method, ups[0].URL, "", bad), 400, 21403)
	})
	for i, u := range ups {
		if u.Method != "PUT" || u.Headers["x-ms-blob-type"] != "BlockBlob" {
			t.Fatalf("upload request %+v", u)
		}
		e.want(e.do(u.Method, u.URL, "", parts[i].enc), 201, "")
	}
	e.want(e.do("POST", "/v2/sessions/batch/"+ref+"/close", access, nil), 204, "")
	r := e.do("GET", "/v2/sessions/"+ref, access, nil)
	e.want(r, 200, "SessionStatusResponse")
	var ss struct {
		Status                                                   struct{ Code int }
		InvoiceCount, SuccessfulInvoiceCount, FailedInvoiceCount int
	}
	r.json(t, &ss)
	if ss.Status.Code != 200 || ss.InvoiceCount != 7 || ss.SuccessfulInvoiceCount != 6 || ss.FailedInvoiceCount != 1 {
		t.Fatalf("batch session = %s", r.body)
	}
	r = e.do("GET", "/v2/sessions/"+ref+"/invoices?pageSize=100", access, nil)
	e.want(r, 200, "SessionInvoicesResponse")
	var list struct{ Invoices []invStatus }
	r.json(t, &list)
	modes := map[string]string{}
	for _, inv := range list.Invoices {
		if inv.InvoiceFileName == nil {
			t.Fatalf("batch invoice without file name: %+v", inv)
		}
		modes[*inv.InvoiceFileName] = fmt.Sprint(inv.Status.Code, inv.InvoicingMode)
	}
	want := map[string]string{"inv-000.xml": "200Offline", "inv-001.xml": "200Online", "inv-006.xml": "440"}
	for f, w := range want {
		if modes[f] != w {
			t.Errorf("%s = %q, want %q", f, modes[f], w)
		}
	}
	e.want(e.do(ups[0].Method, ups[0].URL, "", parts[0].enc), 400, "")
}

func TestBatchBadArchive(t *testing.T) {
	e := newEnv(t, nil)
	access := e.login()
	files := map[string][]byte{"inv-000.xml": invoiceXML(testNIP, "FV/X/1", "2026-03-10")}
	tests := []struct {
		name  string
		tweak func(map[string]any)
		want  string
	}{
		{"OK", nil, `"code":200`},
		{"ArchiveHash", func(bf map[string]any) { bf["fileHash"] = b64sha([]byte("other")) }, `"code":405`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.sub(t)
			ref, parts, ups := e.openBatch(access, files, 1, tt.tweak)
			e.want(e.do(ups[0].Method, ups[0].URL, "", parts[0].enc), 201, "")
			e.want(e.do("POST", "/v2/sessions/batch/"+ref+"/close", access, nil), 204, "")
			r := e.do("GET", "/v2/sessions/"+ref, access, nil)
			e.want(r, 200, "SessionStatusResponse")
			if !bytes.Contains(r.body, []byte(tt.want)) {
				t.Fatalf("session = %s, want %s", r.body, tt.want)
			}
		})
	}
	t.Run("TooManyParts", func(t *testing.T) {
		e := e.sub(t)
		var decl []map[string]any
		for i := 1; i <= 51; i++ {
			decl = append(decl, map[string]any{"ordinalNumber": i, "fileSize": 16, "fileHash": b64sha(nil)})
		}
		r := e.do("POST", "/v2/sessions/batch", access, map[string]any{
			"formCode":   map[string]string{"systemCode": "FA (3)", "schemaVersion": "1-0E", "value": "FA"},
			"batchFile":  map[string]any{"fileSize": 16, "fileHash": b64sha(nil), "fileParts": decl},
			"encryption": map[string]any{"encryptedSymmetricKey": []byte("x"), "initializationVector": make([]byte, 16)},
		})
		e.wantCode(r, 400, 21161)
	})
}
