package ksefsim

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"time"
)

// Key usages published at /security/public-key-certificates.
const (
	UsageTokenEncryption     = "KsefTokenEncryption"
	UsageSymmetricEncryption = "SymmetricKeyEncryption"
)

// state is everything the simulator remembers; it is saved as JSON.
type state struct {
	Keys       []*simKey              `json:"keys"`
	Challenges map[string]*challenge  `json:"challenges"`
	AuthOps    map[string]*authOp     `json:"authOps"`
	Grants     map[string]*grant      `json:"grants"` // bearer token -> grant
	Sessions   map[string]*session    `json:"sessions"`
	Invoices   map[string]*invoice    `json:"invoices"` // invoice reference -> invoice
	DupIndex   map[string]string      `json:"dupIndex"` // duplicate key -> accepted invoice reference
	DupCount   map[string]int         `json:"dupCount"` // duplicate key -> receipts
	ByHash     map[string][]string    `json:"byHash"`   // invoice hash -> invoice references
	CA         *simCA                 `json:"ca,omitempty"`
	Certs      map[string]*simCert    `json:"certs"`       // serial -> certificate issued by enrollment
	Enrolls    map[string]*enrollment `json:"enrollments"` // reference -> enrollment
	Seq        uint64                 `json:"seq"`
	Epoch      [2]byte                `json:"epoch"` // random per state: keeps KSeF numbers of separate runs apart
}

func newState() *state {
	return &state{
		Challenges: map[string]*challenge{},
		AuthOps:    map[string]*authOp{},
		Grants:     map[string]*grant{},
		Sessions:   map[string]*session{},
		Invoices:   map[string]*invoice{},
		DupIndex:   map[string]string{},
		DupCount:   map[string]int{},
		ByHash:     map[string][]string{},
		Certs:      map[string]*simCert{},
		Enrolls:    map[string]*enrollment{},
		Epoch:      [2]byte(randBytes(2)),
	}
}

type simKey struct {
	Usage       string    `json:"usage"`
	PublicKeyID string    `json:"publicKeyId"`
	CertID      string    `json:"certificateId"`
	CertDER     []byte    `json:"cert"`
	KeyDER      []byte    `json:"key"` // PKCS#1
	ValidFrom   time.Time `json:"validFrom"`
	ValidTo     time.Time `json:"validTo"`
	Retired     bool      `json:"retired"`

	priv *rsa.PrivateKey
}

type challenge struct {
	Value   string    `json:"value"`
	Created time.Time `json:"created"`
	Used    bool      `json:"used"`
	IP      string    `json:"ip"`
}

// The methods of an authOp: the AuthenticationMethodCategory of the login.
const (
	methodToken = "Token"
	methodXAdES = "XadesSignature"
)

type authOp struct {
	Ref      string    `json:"ref"`
	NIP      string    `json:"nip"`
	Method   string    `json:"method"` // methodToken | methodXAdES
	Started  time.Time `json:"started"`
	ReadyAt  time.Time `json:"readyAt"`
	Code     int       `json:"code"`
	Desc     string    `json:"desc"`
	Details  []string  `json:"details,omitempty"`
	Redeemed bool      `json:"redeemed"`
	TokenRef string    `json:"tokenRef,omitempty"` // KSeF token reference (token auth)
	DocHash  string    `json:"docHash,omitempty"`  // signed document hash (XAdES auth)
	// Subject is the enrollment data of the login certificate (XAdES auth).
	Subject *wireEnrollmentData `json:"subject,omitempty"`
	// CertSerial names the simulator-issued certificate of an XAdES login.
	CertSerial string    `json:"certSerial,omitempty"`
	OpToken    string    `json:"opToken"` // the authenticationToken
	OpTokenTil time.Time `json:"opTokenUntil"`
}

type grant struct {
	Kind       authKind  `json:"kind"`
	NIP        string    `json:"nip"`
	AuthRef    string    `json:"authRef"`
	ValidUntil time.Time `json:"validUntil"`
}

// Session status codes.
const (
	sessOpen       = 100
	sessProcessing = 150
	sessClosed     = 170
	sessOK         = 200
	sessBadBatch   = 405
	sessKeyError   = 415
	sessLimit      = 420
	sessUnzip      = 430
	sessPartDecr   = 435
	sessCancelled  = 440
	sessNoValid    = 445
)

type session struct {
	Ref        string          `json:"ref"`
	Batch      bool            `json:"batch"`
	NIP        string          `json:"nip"`
	AuthRef    string          `json:"authRef"`
	Key        []byte          `json:"key"`
	IV         []byte          `json:"iv"`
	Created    time.Time       `json:"created"`
	Updated    time.Time       `json:"updated"`
	ValidUntil time.Time       `json:"validUntil"`
	Code       int             `json:"code"` // 100 open; after close the final code
	Details    []string        `json:"details,omitempty"`
	Closed     bool            `json:"closed"`
	ReadyAt    time.Time       `json:"readyAt"`
	Invoices   []string        `json:"invoices"`
	UpoRef     string          `json:"upoRef,omitempty"`
	Offline    bool            `json:"offline"`
	Parts      []wireBatchPart `json:"parts,omitempty"`
	PartData   map[int][]byte  `json:"-"` // uploaded encrypted parts; dropped after processing
	FileSize   int64           `json:"fileSize,omitempty"`
	FileHash   string          `json:"fileHash,omitempty"`
	Compress   string          `json:"compress,omitempty"`
}

// Invoice status codes.
const (
	invAccepted   = 100
	invProcessing = 150
	invOK         = 200
	invFormat     = 430
	invDecrypt    = 435
	invDuplicate  = 440
	invSemantic   = 450
)

type invoice struct {
	Ref           string            `json:"ref"`
	SessionRef    string            `json:"sessionRef"`
	Ordinal       int               `json:"ordinal"`
	SellerNIP     string            `json:"sellerNip,omitempty"`
	Number        string            `json:"number,omitempty"`
	Kind          string            `json:"kind,omitempty"`
	IssueDate     string            `json:"issueDate,omitempty"`
	Hash          string            `json:"hash"`
	Size          int64             `json:"size"`
	FileName      string            `json:"fileName,omitempty"`
	InvoicingDate time.Time         `json:"invoicingDate"`
	Acquired      time.Time         `json:"acquired"`
	ReadyAt       time.Time         `json:"readyAt"`
	Code          int               `json:"code"`
	Desc          string            `json:"desc"`
	Details       []string          `json:"details,omitempty"`
	Ext           map[string]string `json:"ext,omitempty"`
	KSeF          string            `json:"ksef,omitempty"`
	Offline       bool              `json:"offline"`
	Declared      bool              `json:"declared,omitempty"` // offlineMode as the client sent it
	CorrectsHash  string            `json:"correctsHash,omitempty"`
	CorrectedBy   string            `json:"correctedBy,omitempty"`
}

func (st *state) parseKeys() error {
	for _, k := range st.Keys {
		if k.priv != nil {
			continue
		}
		priv, err := x509.ParsePKCS1PrivateKey(k.KeyDER)
		if err != nil {
			return fmt.Errorf("%w: stored key %s: %w", ErrStateFile, k.PublicKeyID, err)
		}
		k.priv = priv
	}
	return nil
}

func (st *state) activeKeys() []*simKey {
	var out []*simKey
	for _, k := range st.Keys {
		if !k.Retired {
			out = append(out, k)
		}
	}
	return out
}

// keyFor returns the active key of usage; id, when non-nil, must name it.
func (st *state) keyFor(usage string, id *string) (*simKey, error) {
	for _, k := range st.Keys {
		if k.Usage != usage || k.Retired {
			continue
		}
		if id == nil || *id == k.PublicKeyID {
			return k, nil
		}
	}
	got := "<none>"
	if id != nil {
		got = *id
	}
	return nil, badRequest(21470, fmt.Sprintf("Klucz o identyfikatorze %s nie jest wspierany.", got))
}

// RotateKeys retires both current keys and publishes new ones; requests that
// name a retired publicKeyId then fail with 400 / 21470.
func (s *Server) RotateKeys() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rotateKeysLocked()
}

func (s *Server) rotateKeysLocked() error {
	now := s.now()
	var fresh []*simKey
	for _, usage := range []string{UsageTokenEncryption, UsageSymmetricEncryption} {
		k, err := newSimKey(usage, now)
		if err != nil {
			return err
		}
		fresh = append(fresh, k)
	}
	for _, k := range s.st.Keys {
		k.Retired = true
	}
	s.st.Keys = append(s.st.Keys, fresh...)
	return nil
}

func newSimKey(usage string, now time.Time) (*simKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("ksefsim: generate key: %w", err)
	}
	serial := new(big.Int).SetBytes(randBytes(16))
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         "Ministerstwo Finansów",
			Organization:       []string{"Ministerstwo Finansów"},
			OrganizationalUnit: []string{"ksefsim " + usage},
			Country:            []string{"PL"},
		},
		NotBefore:             now.Add(-time.Hour).Truncate(time.Second),
		NotAfter:              now.AddDate(2, 0, 0).Truncate(time.Second),
		KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageDataEncipherment,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return nil, fmt.Errorf("ksefsim: self-sign key certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ksefsim: parse key certificate: %w", err)
	}
	spki := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	cid := sha256.Sum256(der)
	return &simKey{
		Usage:       usage,
		PublicKeyID: base64.StdEncoding.EncodeToString(spki[:]),
		CertID:      base64.StdEncoding.EncodeToString(cid[:]),
		CertDER:     der,
		KeyDER:      x509.MarshalPKCS1PrivateKey(priv),
		ValidFrom:   cert.NotBefore,
		ValidTo:     cert.NotAfter,
		priv:        priv,
	}, nil
}

func loadState(path string) (*state, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrStateFile, err)
	}
	st := newState()
	if err := json.Unmarshal(b, st); err != nil {
		return nil, fmt.Errorf("%w: decode %s: %w", ErrStateFile, filepath.Base(path), err)
	}
	// Maps that were empty come back nil.
	fresh := newState()
	if st.Challenges == nil {
		st.Challenges = fresh.Challenges
	}
	if st.AuthOps == nil {
		st.AuthOps = fresh.AuthOps
	}
	if st.Grants == nil {
		st.Grants = fresh.Grants
	}
	if st.Sessions == nil {
		st.Sessions = fresh.Sessions
	}
	if st.Invoices == nil {
		st.Invoices = fresh.Invoices
	}
	if st.DupIndex == nil {
		st.DupIndex = fresh.DupIndex
	}
	if st.DupCount == nil {
		st.DupCount = fresh.DupCount
	}
	if st.ByHash == nil {
		st.ByHash = fresh.ByHash
	}
	if st.Certs == nil {
		st.Certs = fresh.Certs
	}
	if st.Enrolls == nil {
		st.Enrolls = fresh.Enrolls
	}
	return st, nil
}

func writeFileAtomic(path string, b []byte) error {
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".ksefsim-state-*")
	if err != nil {
		return fmt.Errorf("%w: %w", ErrStateFile, err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // no-op after a successful rename
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		return fmt.Errorf("%w: %w", ErrStateFile, err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("%w: write: %w", ErrStateFile, err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("%w: fsync: %w", ErrStateFile, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("%w: %w", ErrStateFile, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("%w: %w", ErrStateFile, err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}
