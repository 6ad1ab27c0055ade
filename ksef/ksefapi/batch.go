package ksefapi

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"io"
	"iter"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// Batch limits of KSeF (ksef-api.md §6).
const (
	MaxBatchParts      = 50
	MaxBatchSize       = 5_000_000_000
	MaxSessionInvoices = 10_000
)

// BatchOptions tune SendBatch.
type BatchOptions struct {
	OfflineMode bool   // declares every invoice of the session offline
	PartSize    int64  // maximum part size before encryption; 0 means DefaultBatchPart (100 MB)
	TempDir     string // where the ZIP and the encrypted parts go; "" means os.TempDir()

	// OnOpen, if set, is called with the session reference as soon as KSeF
	// opens the session, before any part is uploaded. A caller that records
	// it durably can resolve the session after a crash instead of resending.
	// An error from OnOpen aborts the batch before the upload.
	OnOpen func(ctx context.Context, reference string) error
}

// PartUploadRequest is where and how to PUT one encrypted part.
type PartUploadRequest struct {
	OrdinalNumber int               `json:"ordinalNumber"`
	Method        string            `json:"method"`
	URL           string            `json:"url"`
	Headers       map[string]string `json:"headers"`
}

// BatchResult is the outcome of SendBatch. Reference is set as soon as the
// session is open, so a caller can resume polling after an error.
type BatchResult struct {
	Reference string
	Invoices  int            // number of files in the archive
	Parts     int            // number of encrypted parts uploaded
	Status    *SessionStatus // the final session status, when polling finished
}

type batchPart struct {
	OrdinalNumber int    `json:"ordinalNumber"`
	FileSize      int64  `json:"fileSize"`
	FileHash      string `json:"fileHash"`
	path          string
}

type openBatchRequest struct {
	FormCode  FormCode `json:"formCode"`
	BatchFile struct {
		FileSize  int64       `json:"fileSize"`
		FileHash  string      `json:"fileHash"`
		FileParts []batchPart `json:"fileParts"`
	} `json:"batchFile"`
	Encryption  encryptionInfo `json:"encryption"`
	OfflineMode bool           `json:"offlineMode"`
}

// BatchStage is how far SendBatch got when it failed.
type BatchStage string

// The stages of a batch, in order.
const (
	BatchPrepare BatchStage = "prepare" // archive and parts built locally: nothing reached KSeF
	BatchOpen    BatchStage = "open"    // opening the session, or OnOpen refused it: no part uploaded
	BatchUpload  BatchStage = "upload"  // a part upload failed: the close was never sent
	BatchClose   BatchStage = "close"   // the close request failed
	BatchPoll    BatchStage = "poll"    // the session was closed; polling it failed, or it failed
)

// BatchError is every error SendBatch returns: how far the batch got, the
// session KSeF opened for it (if any) and the cause. errors.Is and errors.As
// see through it to the *APIError, *StatusError or sentinel underneath.
type BatchError struct {
	Ref   string     // session reference; "" when KSeF named none
	Stage BatchStage // the step that failed
	Err   error      // the cause
}

func (e *BatchError) Error() string {
	cause := "<nil>"
	if e.Err != nil {
		cause = strings.TrimPrefix(e.Err.Error(), "ksefapi: ")
	}
	if e.Ref == "" {
		return fmt.Sprintf("ksefapi: batch %s: %s", e.Stage, cause)
	}
	return fmt.Sprintf("ksefapi: batch session %s, %s: %s", e.Ref, e.Stage, cause)
}

// Unwrap returns the cause.
func (e *BatchError) Unwrap() error { return e.Err }

// Retryable reports whether sending the same invoices again later may
// succeed: the cause is a transport failure, a 5xx, 408 or 429.
func (e *BatchError) Retryable() bool { return Retryable(e.Err) }

// MayProcess reports whether KSeF may still process the session, so that
// its invoices may land. KSeF processes a batch session only once it is
// closed; one never closed is cancelled (440) when its upload window ends.
//
// It is false when the close request was never sent (stages prepare, open,
// upload) or KSeF answered it with a refusal (a 4xx other than 21180): the
// invoices may be sent again at once. It is true when the close may have
// reached KSeF (no answer, a 5xx, or 21180, which KSeF also gives for a
// session already closed) and at the poll stage; then only the session
// status (SessionStatus) tells whether the session is still open,
// processing, or final with its invoice list.
func (e *BatchError) MayProcess() bool {
	switch e.Stage {
	case BatchPrepare, BatchOpen, BatchUpload:
		return false
	case BatchClose:
		var ae *APIError
		if errors.As(e.Err, &ae) && ae.Status >= 400 && ae.Status < 500 && !ae.HasCode(CodeSessionStatusForbids) {
			return false
		}
	}
	return true
}

// SendBatch sends invoices (file name → XML bytes) in one batch session: the
// ZIP is streamed to a temporary file, split into parts of at most PartSize
// bytes, each part AES-256-CBC encrypted and hashed into its own temporary file;
// then the session is opened, the parts PUT to their pre-signed URLs without
// the bearer token, the session closed and polled until processed. Per-invoice
// results come from AllInvoices(ctx, result.Reference, …). Temporary files are
// removed before SendBatch returns.
//
// Every error is a *BatchError naming the stage that failed; the result is
// non-nil (with Reference) whenever KSeF opened the session.
func (c *Client) SendBatch(ctx context.Context, invoices iter.Seq2[string, []byte], opts BatchOptions) (*BatchResult, error) {
	res, stage, err := c.sendBatch(ctx, invoices, opts)
	if err == nil {
		return res, nil
	}
	be := &BatchError{Stage: stage, Err: err}
	if res != nil {
		be.Ref = res.Reference
	}
	return res, be
}

func (c *Client) sendBatch(ctx context.Context, invoices iter.Seq2[string, []byte], opts BatchOptions) (*BatchResult, BatchStage, error) {
	partSize := opts.PartSize
	if partSize <= 0 {
		partSize = DefaultBatchPart
	}
	if partSize > DefaultBatchPart {
		return nil, BatchPrepare, fmt.Errorf("%w: part size %d exceeds the KSeF limit %d", ErrInvalidInput, partSize, DefaultBatchPart)
	}
	dir, err := os.MkdirTemp(opts.TempDir, "ksef-batch-")
	if err != nil {
		return nil, BatchPrepare, fmt.Errorf("ksefapi: batch temp dir: %w", err)
	}
	defer os.RemoveAll(dir)

	zipPath := filepath.Join(dir, "invoices.zip")
	zipSize, zipHash, count, err := writeZip(zipPath, invoices)
	if err != nil {
		return nil, BatchPrepare, err
	}
	if zipSize > MaxBatchSize {
		return nil, BatchPrepare, fmt.Errorf("%w: archive of %d bytes exceeds %d", ErrInvalidInput, zipSize, int64(MaxBatchSize))
	}
	key, err := newSessionKey()
	if err != nil {
		return nil, BatchPrepare, err
	}
	parts, err := encryptParts(ctx, zipPath, zipSize, partSize, key, dir)
	if err != nil {
		return nil, BatchPrepare, err
	}
	res := &BatchResult{Invoices: count, Parts: len(parts)}

	open, err := withKey(ctx, c, UsageSymmetricKey, func(k PublicKey) (*openSessionResponse, error) {
		enc, err := key.encryptionInfo(k)
		if err != nil {
			return nil, err
		}
		var req openBatchRequest
		req.FormCode = FormFA3
		req.BatchFile.FileSize = zipSize
		req.BatchFile.FileHash = zipHash
		req.BatchFile.FileParts = parts
		req.Encryption = enc
		req.OfflineMode = opts.OfflineMode
		var r openSessionResponse
		if _, err := c.do(ctx, call{op: "open batch session", method: http.MethodPost, path: "/sessions/batch", body: req, auth: accessBearer}, &r); err != nil {
			return nil, err
		}
		return &r, nil
	})
	if err != nil {
		// A session KSeF opened without telling us is never closed, so never processed.
		return nil, BatchOpen, err
	}
	if open.ReferenceNumber == "" {
		return nil, BatchOpen, &APIError{Op: "open batch session", Status: http.StatusCreated, Description: "referenceNumber missing"}
	}
	res.Reference = open.ReferenceNumber
	if opts.OnOpen != nil {
		if err := opts.OnOpen(ctx, res.Reference); err != nil {
			return res, BatchOpen, fmt.Errorf("OnOpen: %w", err)
		}
	}
	if err := c.uploadParts(ctx, parts, open.PartUploadRequests); err != nil {
		return res, BatchUpload, err
	}
	if _, err := c.do(ctx, call{op: "close batch session", method: http.MethodPost,
		path: "/sessions/batch/" + url.PathEscape(res.Reference) + "/close", auth: accessBearer}, nil); err != nil {
		return res, BatchClose, err
	}
	res.Status, err = c.WaitSession(ctx, res.Reference)
	if err != nil {
		return res, BatchPoll, err
	}
	return res, "", nil
}

// writeZip streams the invoices into a ZIP file and returns its size, Base64
// SHA-256 and the number of files.
func writeZip(path string, invoices iter.Seq2[string, []byte]) (size int64, hash string, n int, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, "", 0, fmt.Errorf("ksefapi: batch archive: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("ksefapi: batch archive: %w", cerr)
		}
	}()
	h := sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	zw := zip.NewWriter(cw)
	seen := map[string]bool{}
	for name, xml := range invoices {
		if name == "" || strings.ContainsAny(name, `/\`) || seen[name] {
			return 0, "", 0, fmt.Errorf("%w: batch file name %q is empty, has a path separator or repeats", ErrInvalidInput, name)
		}
		if len(xml) == 0 {
			return 0, "", 0, fmt.Errorf("%w: batch file %q is empty", ErrInvalidInput, name)
		}
		seen[name] = true
		n++
		if n > MaxSessionInvoices {
			return 0, "", 0, fmt.Errorf("%w: more than %d invoices in one batch", ErrInvalidInput, MaxSessionInvoices)
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: name, Method: zip.Deflate})
		if err != nil {
			return 0, "", 0, fmt.Errorf("ksefapi: batch archive: %w", err)
		}
		if _, err := w.Write(xml); err != nil {
			return 0, "", 0, fmt.Errorf("ksefapi: batch archive: %w", err)
		}
	}
	if n == 0 {
		return 0, "", 0, fmt.Errorf("%w: no invoices for the batch", ErrInvalidInput)
	}
	if err := zw.Close(); err != nil {
		return 0, "", 0, fmt.Errorf("ksefapi: batch archive: %w", err)
	}
	return cw.n, base64.StdEncoding.EncodeToString(h.Sum(nil)), n, nil
}

// encryptParts cuts the archive into parts and encrypts each into its own file.
func encryptParts(ctx context.Context, zipPath string, size, partSize int64, key *sessionKey, dir string) ([]batchPart, error) {
	count := (size + partSize - 1) / partSize
	if count > MaxBatchParts {
		return nil, fmt.Errorf("%w: archive needs %d parts, KSeF allows %d", ErrInvalidInput, count, MaxBatchParts)
	}
	src, err := os.Open(zipPath)
	if err != nil {
		return nil, fmt.Errorf("ksefapi: batch part: %w", err)
	}
	defer src.Close()
	parts := make([]batchPart, 0, count)
	for i := range count {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		p := batchPart{OrdinalNumber: int(i + 1), path: filepath.Join(dir, fmt.Sprintf("part-%02d.aes", i+1))}
		sec := io.NewSectionReader(src, i*partSize, min(partSize, size-i*partSize))
		var h hash.Hash
		if p.FileSize, h, err = encryptToFile(p.path, sec, key); err != nil {
			return nil, err
		}
		p.FileHash = base64.StdEncoding.EncodeToString(h.Sum(nil))
		parts = append(parts, p)
	}
	return parts, nil
}

func encryptToFile(path string, r io.Reader, key *sessionKey) (n int64, h hash.Hash, err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return 0, nil, fmt.Errorf("ksefapi: batch part: %w", err)
	}
	defer func() {
		if cerr := f.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("ksefapi: batch part: %w", cerr)
		}
	}()
	h = sha256.New()
	cw := &countWriter{w: io.MultiWriter(f, h)}
	enc, err := newCBCWriter(cw, key.key[:], key.iv[:])
	if err != nil {
		return 0, nil, err
	}
	if _, err := io.Copy(enc, r); err != nil {
		return 0, nil, fmt.Errorf("ksefapi: batch part: %w", err)
	}
	if err := enc.Close(); err != nil {
		return 0, nil, fmt.Errorf("ksefapi: batch part: %w", err)
	}
	return cw.n, h, nil
}

// uploadParts PUTs every part to its pre-signed URL with the given headers and
// without the access token.
func (c *Client) uploadParts(ctx context.Context, parts []batchPart, reqs []PartUploadRequest) error {
	if len(reqs) != len(parts) {
		return &APIError{Op: "open batch session", Status: http.StatusCreated,
			Description: fmt.Sprintf("%d upload requests for %d parts", len(reqs), len(parts))}
	}
	byOrdinal := map[int]batchPart{}
	for _, p := range parts {
		byOrdinal[p.OrdinalNumber] = p
	}
	for _, ur := range reqs {
		p, ok := byOrdinal[ur.OrdinalNumber]
		if !ok {
			return &APIError{Op: "open batch session", Status: http.StatusCreated,
				Description: fmt.Sprintf("upload request for unknown part %d", ur.OrdinalNumber)}
		}
		if err := c.uploadPart(ctx, p, ur); err != nil {
			return err
		}
	}
	return nil
}

func (c *Client) uploadPart(ctx context.Context, p batchPart, ur PartUploadRequest) error {
	u, err := url.Parse(ur.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return &APIError{Op: "upload part", Status: http.StatusCreated, Description: "part upload URL is not an http(s) URL"}
	}
	method := ur.Method
	if method == "" {
		method = http.MethodPut
	}
	f, err := os.Open(p.path)
	if err != nil {
		return fmt.Errorf("ksefapi: upload part %d: %w", p.OrdinalNumber, err)
	}
	defer f.Close()
	req, err := http.NewRequestWithContext(ctx, method, u.String(), f)
	if err != nil {
		return fmt.Errorf("ksefapi: upload part %d: %w", p.OrdinalNumber, err)
	}
	req.ContentLength = p.FileSize
	req.GetBody = func() (io.ReadCloser, error) { return os.Open(p.path) }
	for k, v := range ur.Headers {
		if strings.EqualFold(k, "Authorization") {
			continue // the pre-signed URL is the credential; never forward a bearer
		}
		req.Header.Set(k, v)
	}
	_, _, err = c.send(req, fmt.Sprintf("upload part %d", p.OrdinalNumber), 0)
	return err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}
