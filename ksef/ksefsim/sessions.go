package ksefsim

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

const (
	batchPartWindow = 20 * time.Minute
	maxBatchTotal   = 5_000_000_000
	maxUnpacked     = 1 << 30 // guards against archive bombs
)

var sessionDescriptions = map[int]string{
	sessOpen:       "Sesja otwarta",
	sessProcessing: "Trwa przetwarzanie",
	sessClosed:     "Sesja zamknięta",
	sessOK:         "Sesja przetworzona pomyślnie",
	sessBadBatch:   "Błąd weryfikacji poprawności dostarczonych elementów paczki",
	sessKeyError:   "Błąd odszyfrowania dostarczonego klucza",
	sessLimit:      "Przekroczony limit faktur w sesji",
	sessUnzip:      "Błąd dekompresji pierwotnego archiwum",
	sessPartDecr:   "Błąd odszyfrowania zaszyfrowanych części sesji",
	sessCancelled:  "Sesja anulowana",
	sessNoValid:    "Błąd weryfikacji, brak poprawnych faktur",
}

func checkFormCode(fc *wireFormCode) error {
	if fc == nil || fc.SystemCode != "FA (3)" || fc.SchemaVersion != "1-0E" || fc.Value != "FA" {
		return badRequest(21405, "Wskazany kod formularza nie jest wspierany (symulator przyjmuje FA (3) / 1-0E / FA).")
	}
	return nil
}

// openKey unwraps the session key. A key that does not decrypt is not a
// request error: the session opens with status 415, as in KSeF.
func (s *Server) openKey(enc *wireEncryption) (key []byte, ok bool, err error) {
	if enc == nil {
		return nil, false, badRequest(21405, "encryption jest wymagane.")
	}
	k, err := s.st.keyFor(UsageSymmetricEncryption, enc.PublicKeyID)
	if err != nil {
		return nil, false, err
	}
	if len(enc.InitializationVector) != aes.BlockSize {
		return nil, false, badRequest(21405, fmt.Sprintf("initializationVector ma %d bajtów, oczekiwano 16.", len(enc.InitializationVector)))
	}
	key, derr := rsa.DecryptOAEP(sha256.New(), nil, k.priv, enc.EncryptedSymmetricKey, nil)
	if derr != nil || len(key) != 32 {
		return nil, false, nil
	}
	return key, true, nil
}

func (s *Server) handleOpenOnline(c *call) (*response, error) {
	var req wireOpenOnline
	if err := decodeJSON(c.body, &req); err != nil {
		return nil, err
	}
	if err := checkFormCode(req.FormCode); err != nil {
		return nil, err
	}
	key, ok, err := s.openKey(req.Encryption)
	if err != nil {
		return nil, err
	}
	ss := &session{
		Ref: newRef(c.now, "SO"), NIP: c.nip, AuthRef: c.authRef, Key: key, IV: req.Encryption.InitializationVector,
		Created: c.now, Updated: c.now, ValidUntil: c.now.Add(DefaultOnlineSessionTTL), Code: sessOpen,
	}
	if !ok {
		ss.Code, ss.Closed, ss.Details = sessKeyError, true, []string{"Nie udało się odszyfrować klucza symetrycznego."}
	}
	s.st.Sessions[ss.Ref] = ss
	return jsonResp(http.StatusCreated, wireOpenOnlineResp{ReferenceNumber: ss.Ref, ValidUntil: ts(ss.ValidUntil)}), nil
}

// session returns the caller's session ref, closing it first if it expired.
func (s *Server) session(c *call) (*session, error) {
	ref := c.r.PathValue("ref")
	ss := s.st.Sessions[ref]
	if ss == nil || ss.NIP != c.nip {
		return nil, badRequest(21173, "Sesja o numerze referencyjnym "+ref+" nie została odnaleziona.")
	}
	if !ss.Closed && !c.now.Before(ss.ValidUntil) {
		// Expired sessions close themselves; a batch whose parts never
		// arrived is cancelled.
		if ss.Batch {
			ss.Closed, ss.Code, ss.Details = true, sessCancelled, []string{"Sesja anulowana, przekroczony czas wysyłki."}
			ss.PartData = nil
		} else {
			s.closeOnline(ss, ss.ValidUntil)
		}
	}
	return ss, nil
}

func (s *Server) handleSendInvoice(c *call) (*response, error) {
	ss, err := s.session(c)
	if err != nil {
		return nil, err
	}
	if ss.Batch {
		return nil, badRequest(21173, "Sesja "+ss.Ref+" nie jest sesją interaktywną.")
	}
	if ss.Closed || ss.Code != sessOpen {
		return nil, badRequest(21180, fmt.Sprintf("Status sesji %d uniemożliwia wysyłkę faktur.", s.sessionCode(ss, c.now)))
	}
	var req wireSendInvoice
	if err := decodeJSON(c.body, &req); err != nil {
		return nil, err
	}
	if len(req.InvoiceHash) != 44 || len(req.EncryptedInvoiceHash) != 44 || req.InvoiceSize < 1 || req.EncryptedInvoiceSize < 1 || len(req.EncryptedInvoiceContent) == 0 {
		return nil, badRequest(21405, "Wymagane: invoiceHash i encryptedInvoiceHash (Base64, 44 znaki), invoiceSize i encryptedInvoiceSize ≥ 1, encryptedInvoiceContent.")
	}
	content := req.EncryptedInvoiceContent
	if int64(len(content)) != req.EncryptedInvoiceSize {
		return nil, badRequest(21402, fmt.Sprintf("Długość treści %d nie zgadza się z rozmiarem pliku %d.", len(content), req.EncryptedInvoiceSize))
	}
	if b64sha(content) != req.EncryptedInvoiceHash {
		return nil, badRequest(21403, "Skrót zaszyfrowanej treści nie zgadza się ze skrótem pliku.")
	}
	if len(ss.Invoices) >= s.opts.SessionInvoiceLimit {
		return nil, badRequest(21155, fmt.Sprintf("Sesja o numerze referencyjnym %s osiągnęła dozwolony limit liczby faktur %d.", ss.Ref, s.opts.SessionInvoiceLimit))
	}
	corrects := ""
	if req.HashOfCorrectedInvoice != nil {
		corrects = *req.HashOfCorrectedInvoice
		if err := s.checkCorrection(corrects, req.OfflineMode); err != nil {
			return nil, err
		}
	}
	ss.Updated = c.now
	plain, derr := decryptCBC(ss.Key, ss.IV, content)
	if derr != nil {
		inv := s.newInvoice(ss, req.InvoiceHash, req.InvoiceSize, "", c.now, c.now)
		inv.setStatus(invDecrypt, derr.Error())
		s.storeInvoice(ss, inv)
		return jsonResp(http.StatusAccepted, wireRef{ReferenceNumber: inv.Ref}), nil
	}
	if int64(len(plain)) != req.InvoiceSize {
		return nil, badRequest(21402, fmt.Sprintf("Rozmiar odszyfrowanej faktury %d nie zgadza się z invoiceSize %d.", len(plain), req.InvoiceSize))
	}
	if b64sha(plain) != req.InvoiceHash {
		return nil, badRequest(21403, "Skrót odszyfrowanej faktury nie zgadza się z invoiceHash.")
	}
	inv := s.acceptInvoice(ss, plain, "", req.OfflineMode, corrects, c.now, c.now)
	return jsonResp(http.StatusAccepted, wireRef{ReferenceNumber: inv.Ref}), nil
}

// checkCorrection enforces the technical-correction rules for the original
// whose hash is h.
func (s *Server) checkCorrection(h string, offline bool) error {
	if len(h) != 44 {
		return badRequest(21405, "hashOfCorrectedInvoice musi być skrótem SHA-256 w Base64 (44 znaki).")
	}
	if !offline {
		return badRequest(21405, "Korekta techniczna wymaga offlineMode=true.")
	}
	refs := s.st.ByHash[h]
	if len(refs) == 0 {
		return badRequest(21405, "Nie odnaleziono faktury o skrócie "+h+".")
	}
	for _, ref := range refs {
		if o := s.st.Invoices[ref]; o.CorrectedBy != "" {
			return badRequest(21166, "Faktura posiada już przetworzoną prawidłowo korektę techniczną.")
		}
	}
	for _, ref := range refs {
		if o := s.st.Invoices[ref]; o.Code == invOK {
			return badRequest(21167, "Nie można wysłać korekty technicznej do prawidłowo przetworzonej faktury.")
		}
	}
	return nil
}

func decryptCBC(key, iv, ct []byte) ([]byte, error) {
	if len(ct) == 0 || len(ct)%aes.BlockSize != 0 {
		return nil, fmt.Errorf("szyfrogram o długości %d nie jest wielokrotnością 16", len(ct))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("klucz AES: %w", err)
	}
	out := make([]byte, len(ct))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, ct)
	n := int(out[len(out)-1])
	if n == 0 || n > aes.BlockSize {
		return nil, errors.New("nieprawidłowe dopełnienie PKCS#7")
	}
	for _, b := range out[len(out)-n:] {
		if int(b) != n {
			return nil, errors.New("nieprawidłowe dopełnienie PKCS#7")
		}
	}
	return out[:len(out)-n], nil
}

func (s *Server) handleCloseOnline(c *call) (*response, error) {
	ss, err := s.session(c)
	if err != nil {
		return nil, err
	}
	if ss.Batch {
		return nil, badRequest(21173, "Sesja "+ss.Ref+" nie jest sesją interaktywną.")
	}
	if ss.Closed {
		return nil, badRequest(21180, fmt.Sprintf("Status sesji %d uniemożliwia jej zamknięcie.", s.sessionCode(ss, c.now)))
	}
	s.closeOnline(ss, c.now)
	return &response{status: http.StatusNoContent}, nil
}

func (s *Server) closeOnline(ss *session, at time.Time) {
	ss.Closed, ss.Updated, ss.ReadyAt = true, at, at.Add(s.opts.ProcessingDelay)
	s.finish(ss)
}

// finish sets the final code of a closed session from its invoices.
func (s *Server) finish(ss *session) {
	ok := 0
	for _, ref := range ss.Invoices {
		if s.st.Invoices[ref].Code == invOK {
			ok++
		}
	}
	switch {
	case len(ss.Invoices) == 0:
		ss.Code, ss.Details = sessCancelled, []string{"Nie przesłano faktur."}
	case ok == 0:
		ss.Code = sessNoValid
	default:
		ss.Code, ss.UpoRef = sessOK, newRef(ss.Updated, "UP")
	}
}

// sessionCode is the status code a session reports at now.
func (s *Server) sessionCode(ss *session, now time.Time) int {
	switch {
	case !ss.Closed:
		return sessOpen
	case now.Before(ss.ReadyAt) && ss.Batch:
		return sessProcessing
	case now.Before(ss.ReadyAt):
		return sessClosed
	}
	return ss.Code
}

func (s *Server) handleSessionStatus(c *call) (*response, error) {
	ss, err := s.session(c)
	if err != nil {
		return nil, err
	}
	code := s.sessionCode(ss, c.now)
	out := wireSessionStatus{
		Status:      wireStatus{Code: code, Description: sessionDescriptions[code]},
		DateCreated: ts(ss.Created), DateUpdated: ts(ss.Updated),
	}
	if code == ss.Code {
		out.Status.Details = ss.Details
	}
	if !ss.Batch {
		out.ValidUntil = ptr(ts(ss.ValidUntil))
	}
	total, okN, failN := len(ss.Invoices), 0, 0
	for _, ref := range ss.Invoices {
		inv := s.st.Invoices[ref]
		switch {
		case c.now.Before(inv.ReadyAt):
		case inv.Code == invOK:
			okN++
		case inv.Code >= 400:
			failN++
		}
	}
	out.InvoiceCount, out.SuccessfulInvoiceCount, out.FailedInvoiceCount = &total, &okN, &failN
	if code == sessOK && ss.UpoRef != "" {
		exp := c.now.Add(DefaultUPOLinkTTL)
		out.Upo = &wireUpo{Pages: []wireUpoPage{{
			ReferenceNumber:           ss.UpoRef,
			DownloadURL:               s.presign(c.base, "/blob/upo/"+ss.Ref+"/"+ss.UpoRef, exp),
			DownloadURLExpirationDate: ts(exp),
		}}}
	}
	return jsonResp(http.StatusOK, out), nil
}

func (s *Server) invoiceWire(inv *invoice, c *call) wireInvoiceStatus {
	w := wireInvoiceStatus{
		OrdinalNumber: inv.Ordinal, ReferenceNumber: inv.Ref, InvoiceHash: inv.Hash,
		InvoicingDate: ts(inv.InvoicingDate),
		Status:        wireStatus{Code: inv.Code, Description: inv.Desc, Details: inv.Details, Extensions: inv.Ext},
	}
	if inv.FileName != "" {
		w.InvoiceFileName = ptr(inv.FileName)
	}
	if c.now.Before(inv.ReadyAt) {
		w.Status = wireStatus{Code: invProcessing, Description: invoiceDescriptions[invProcessing]}
		return w
	}
	if inv.Number != "" {
		w.InvoiceNumber = ptr(inv.Number)
	}
	if inv.Code == invOK {
		mode := "Online"
		if inv.Offline {
			mode = "Offline"
		}
		exp := c.now.Add(DefaultUPOLinkTTL)
		w.KsefNumber, w.InvoicingMode = ptr(inv.KSeF), ptr(mode)
		w.AcquisitionDate, w.PermanentStorageDate = ptr(ts(inv.Acquired)), ptr(ts(inv.Acquired))
		w.UpoDownloadURL = ptr(s.presign(c.base, "/blob/upo/"+inv.SessionRef+"/"+inv.Ref, exp))
		w.UpoDownloadURLExpirationDate = ptr(ts(exp))
	}
	return w
}

func (s *Server) handleSessionInvoices(failedOnly bool) handlerFunc {
	return func(c *call) (*response, error) {
		ss, err := s.session(c)
		if err != nil {
			return nil, err
		}
		size := 10
		if v := c.r.URL.Query().Get("pageSize"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 10 || n > 1000 {
				return nil, badRequest(21405, "pageSize musi być liczbą od 10 do 1000.")
			}
			size = n
		}
		offset := 0
		if tok := c.r.Header.Get("x-continuation-token"); tok != "" {
			b, err := base64.RawURLEncoding.DecodeString(tok)
			n, cerr := strconv.Atoi(string(b))
			if err != nil || cerr != nil || n < 0 {
				return nil, badRequest(21405, "Nieprawidłowy x-continuation-token.")
			}
			offset = n
		}
		var all []*invoice
		for _, ref := range ss.Invoices {
			inv := s.st.Invoices[ref]
			if failedOnly && (c.now.Before(inv.ReadyAt) || inv.Code < 400) {
				continue
			}
			all = append(all, inv)
		}
		out := wireSessionInvoices{Invoices: []wireInvoiceStatus{}}
		for i := offset; i < len(all) && i < offset+size; i++ {
			out.Invoices = append(out.Invoices, s.invoiceWire(all[i], c))
		}
		if offset+size < len(all) {
			out.ContinuationToken = ptr(base64.RawURLEncoding.EncodeToString([]byte(strconv.Itoa(offset + size))))
		}
		return jsonResp(http.StatusOK, out), nil
	}
}

func (s *Server) sessionInvoice(c *call, ss *session) (*invoice, error) {
	inv := s.st.Invoices[c.r.PathValue("inv")]
	if inv == nil || inv.SessionRef != ss.Ref {
		return nil, badRequest(21405, "Faktura o numerze referencyjnym "+c.r.PathValue("inv")+" nie została odnaleziona w sesji.")
	}
	return inv, nil
}

func (s *Server) handleInvoiceStatus(c *call) (*response, error) {
	ss, err := s.session(c)
	if err != nil {
		return nil, err
	}
	inv, err := s.sessionInvoice(c, ss)
	if err != nil {
		return nil, err
	}
	return jsonResp(http.StatusOK, s.invoiceWire(inv, c)), nil
}

func xmlResp(b []byte) *response {
	h := sha256.Sum256(b)
	r := &response{status: http.StatusOK, ctype: "application/xml", body: b, header: http.Header{}}
	r.header.Set("x-ms-meta-hash", base64.StdEncoding.EncodeToString(h[:]))
	return r
}

func (s *Server) invoiceUPOResp(inv *invoice, now time.Time) (*response, error) {
	if inv.Code != invOK || now.Before(inv.ReadyAt) {
		return nil, badRequest(21405, "UPO dla faktury "+inv.Ref+" nie jest dostępne.")
	}
	ss := s.st.Sessions[inv.SessionRef]
	return xmlResp(s.upo(ss, []*invoice{inv})), nil
}

func (s *Server) handleInvoiceUPO(c *call) (*response, error) {
	ss, err := s.session(c)
	if err != nil {
		return nil, err
	}
	inv, err := s.sessionInvoice(c, ss)
	if err != nil {
		return nil, err
	}
	return s.invoiceUPOResp(inv, c.now)
}

func (s *Server) handleInvoiceUPOByKSeF(c *call) (*response, error) {
	ss, err := s.session(c)
	if err != nil {
		return nil, err
	}
	k := c.r.PathValue("ksef")
	for _, ref := range ss.Invoices {
		if inv := s.st.Invoices[ref]; inv.KSeF == k {
			return s.invoiceUPOResp(inv, c.now)
		}
	}
	return nil, badRequest(21405, "Faktura o numerze KSeF "+k+" nie została odnaleziona w sesji.")
}

func (s *Server) sessionUPOResp(ss *session, upoRef string, now time.Time) (*response, error) {
	if upoRef != ss.UpoRef || s.sessionCode(ss, now) != sessOK {
		return nil, badRequest(21405, "UPO "+upoRef+" nie jest dostępne.")
	}
	var invs []*invoice
	for _, ref := range ss.Invoices {
		if inv := s.st.Invoices[ref]; inv.Code == invOK {
			invs = append(invs, inv)
		}
	}
	return xmlResp(s.upo(ss, invs)), nil
}

func (s *Server) handleSessionUPO(c *call) (*response, error) {
	ss, err := s.session(c)
	if err != nil {
		return nil, err
	}
	return s.sessionUPOResp(ss, c.r.PathValue("upo"), c.now)
}

func (s *Server) handleBlobUPO(c *call) (*response, error) {
	if err := s.checkPresigned(c); err != nil {
		return nil, err
	}
	ss := s.st.Sessions[c.r.PathValue("ref")]
	item := c.r.PathValue("item")
	if ss == nil {
		return nil, &apiError{status: http.StatusNotFound, code: 404, desc: "no such blob"}
	}
	if inv := s.st.Invoices[item]; inv != nil && inv.SessionRef == ss.Ref {
		return s.invoiceUPOResp(inv, c.now)
	}
	return s.sessionUPOResp(ss, item, c.now)
}

// Batch sessions.

func (s *Server) handleOpenBatch(c *call) (*response, error) {
	var req wireOpenBatch
	if err := decodeJSON(c.body, &req); err != nil {
		return nil, err
	}
	if err := checkFormCode(req.FormCode); err != nil {
		return nil, err
	}
	bf := req.BatchFile
	if bf == nil || len(bf.FileHash) != 44 || bf.FileSize < 1 || bf.FileSize > maxBatchTotal || len(bf.FileParts) == 0 {
		return nil, badRequest(21405, "batchFile: wymagane fileSize (1..5 GB), fileHash (44 znaki) i fileParts.")
	}
	if len(bf.FileParts) > maxParts {
		return nil, badRequest(21161, fmt.Sprintf("Liczba części %d przekracza limit %d.", len(bf.FileParts), maxParts))
	}
	compress := "Zip"
	if bf.CompressionType != nil {
		compress = *bf.CompressionType
		if compress != "Zip" && compress != "TarGz" {
			return nil, badRequest(21405, "compressionType musi być Zip albo TarGz.")
		}
	}
	seen := map[int]bool{}
	for _, p := range bf.FileParts {
		if p.OrdinalNumber < 1 || p.OrdinalNumber > len(bf.FileParts) || seen[p.OrdinalNumber] || len(p.FileHash) != 44 {
			return nil, badRequest(21405, fmt.Sprintf("Część %d: numery porządkowe muszą być unikalne 1..%d, fileHash 44 znaki.", p.OrdinalNumber, len(bf.FileParts)))
		}
		seen[p.OrdinalNumber] = true
		if p.FileSize < 1 || p.FileSize > maxPartSize+aes.BlockSize {
			return nil, badRequest(21157, fmt.Sprintf("Rozmiar części %d przekroczył dozwolony rozmiar 100MB.", p.OrdinalNumber))
		}
	}
	key, ok, err := s.openKey(req.Encryption)
	if err != nil {
		return nil, err
	}
	ss := &session{
		Ref: newRef(c.now, "SB"), Batch: true, NIP: c.nip, AuthRef: c.authRef, Key: key, IV: req.Encryption.InitializationVector,
		Created: c.now, Updated: c.now, ValidUntil: c.now.Add(time.Duration(len(bf.FileParts)) * batchPartWindow),
		Code: sessOpen, Offline: req.OfflineMode, Parts: bf.FileParts, PartData: map[int][]byte{},
		FileSize: bf.FileSize, FileHash: bf.FileHash, Compress: compress,
	}
	if !ok {
		ss.Code, ss.Closed, ss.Details = sessKeyError, true, []string{"Nie udało się odszyfrować klucza symetrycznego."}
	}
	s.st.Sessions[ss.Ref] = ss
	out := wireOpenBatchResp{ReferenceNumber: ss.Ref, PartUploadRequests: []wirePartUpload{}}
	for _, p := range bf.FileParts {
		out.PartUploadRequests = append(out.PartUploadRequests, wirePartUpload{
			OrdinalNumber: p.OrdinalNumber, Method: http.MethodPut,
			URL:     s.presign(c.base, fmt.Sprintf("/blob/batch/%s/%d", ss.Ref, p.OrdinalNumber), ss.ValidUntil),
			Headers: map[string]string{"x-ms-blob-type": "BlockBlob"},
		})
	}
	return jsonResp(http.StatusCreated, out), nil
}

func (s *Server) handleBlobPart(c *call) (*response, error) {
	if err := s.checkPresigned(c); err != nil {
		return nil, err
	}
	ss := s.st.Sessions[c.r.PathValue("ref")]
	n, _ := strconv.Atoi(c.r.PathValue("part"))
	if ss == nil || !ss.Batch || ss.Closed {
		return nil, badRequest(21180, "Sesja nie przyjmuje części.")
	}
	var decl *wireBatchPart
	for i := range ss.Parts {
		if ss.Parts[i].OrdinalNumber == n {
			decl = &ss.Parts[i]
		}
	}
	if decl == nil {
		return nil, badRequest(21405, fmt.Sprintf("Część %d nie została zadeklarowana.", n))
	}
	if int64(len(c.body)) != decl.FileSize {
		return nil, badRequest(21157, fmt.Sprintf("Zadeklarowany rozmiar części '%d' nie zgadza się z rzeczywistym.", n))
	}
	if b64sha(c.body) != decl.FileHash {
		return nil, badRequest(21403, fmt.Sprintf("Skrót części '%d' nie zgadza się z zadeklarowanym.", n))
	}
	ss.PartData[n] = c.body
	ss.Updated = c.now
	return &response{status: http.StatusCreated}, nil
}

func (s *Server) handleCloseBatch(c *call) (*response, error) {
	ss, err := s.session(c)
	if err != nil {
		return nil, err
	}
	if !ss.Batch {
		return nil, badRequest(21173, "Sesja "+ss.Ref+" nie jest sesją wsadową.")
	}
	if ss.Closed {
		return nil, badRequest(21180, fmt.Sprintf("Status sesji %d uniemożliwia jej zamknięcie.", s.sessionCode(ss, c.now)))
	}
	for _, p := range ss.Parts {
		if ss.PartData[p.OrdinalNumber] == nil {
			return nil, badRequest(21205, fmt.Sprintf("Nie przesłano zadeklarowanej '%d' części pliku.", p.OrdinalNumber))
		}
	}
	ss.Closed, ss.Updated, ss.ReadyAt = true, c.now, c.now.Add(s.opts.ProcessingDelay)
	s.processBatch(ss, c.now)
	ss.PartData = nil
	return &response{status: http.StatusNoContent}, nil
}

func (s *Server) processBatch(ss *session, now time.Time) {
	var archive bytes.Buffer
	for i := 1; i <= len(ss.Parts); i++ {
		plain, err := decryptCBC(ss.Key, ss.IV, ss.PartData[i])
		if err != nil {
			ss.Code, ss.Details = sessPartDecr, []string{fmt.Sprintf("Część %d: %v", i, err)}
			return
		}
		archive.Write(plain)
	}
	if int64(archive.Len()) != ss.FileSize || b64sha(archive.Bytes()) != ss.FileHash {
		ss.Code, ss.Details = sessBadBatch, []string{"Rozmiar lub skrót archiwum nie zgadza się z batchFile."}
		return
	}
	files, err := unpack(archive.Bytes(), ss.Compress, s.opts.SessionInvoiceLimit)
	if errors.Is(err, errTooManyFiles) {
		ss.Code, ss.Details = sessLimit, []string{err.Error()}
		return
	}
	if err != nil {
		ss.Code, ss.Details = sessUnzip, []string{err.Error()}
		return
	}
	for _, f := range files {
		s.acceptInvoice(ss, f.data, f.name, ss.Offline, "", ss.Created, now)
	}
	s.finish(ss)
}

type archived struct {
	name string
	data []byte
}

var errTooManyFiles = errors.New("ksefsim: archive holds more invoices than a session allows")

// unpack reads the invoices of a Zip or TarGz archive. Each file is read up
// to 3 MB + 1 byte, so an oversized file fails its size check instead of
// filling memory.
func unpack(b []byte, kind string, limit int) ([]archived, error) {
	const perFile = 3_000_001
	total := 0
	var out []archived
	add := func(name string, r io.Reader) error {
		if len(out) >= limit {
			return fmt.Errorf("%w (%d)", errTooManyFiles, limit)
		}
		data, err := io.ReadAll(io.LimitReader(r, perFile))
		if err != nil {
			return fmt.Errorf("read %s: %w", name, err)
		}
		if total += len(data); total > maxUnpacked {
			return fmt.Errorf("archive unpacks to more than %d bytes", maxUnpacked)
		}
		if len(name) > 128 {
			name = name[:128]
		}
		out = append(out, archived{name: name, data: data})
		return nil
	}
	switch kind {
	case "TarGz":
		gz, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			return nil, fmt.Errorf("gzip: %w", err)
		}
		tr := tar.NewReader(gz)
		for {
			h, err := tr.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("tar: %w", err)
			}
			if h.Typeflag != tar.TypeReg {
				continue
			}
			if err := add(h.Name, tr); err != nil {
				return nil, err
			}
		}
	default:
		zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
		if err != nil {
			return nil, fmt.Errorf("zip: %w", err)
		}
		for _, f := range zr.File {
			if f.FileInfo().IsDir() {
				continue
			}
			rc, err := f.Open()
			if err != nil {
				return nil, fmt.Errorf("zip %s: %w", f.Name, err)
			}
			err = add(f.Name, rc)
			rc.Close()
			if err != nil {
				return nil, err
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("archive holds no files")
	}
	return out, nil
}
