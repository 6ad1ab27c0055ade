package outbox

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Defaults for Options fields left zero.
const (
	DefaultTimeout  = 2 * time.Second
	DefaultMaxSize  = 256 << 20 // mmap address space is the limit on 32-bit ARM
	DefaultHeadroom = 8 << 20
	// DefaultDrainReserve is the room kept per invoice not yet accepted: its
	// UPO (about 1–4 KiB from KSeF; more is allowed for), the event-log lines
	// and references the upload adds, and the page slack of rewriting it.
	DefaultDrainReserve = 8 << 10
)

// allocStep is bbolt's DB.AllocSize: beyond it the file grows in steps of it,
// and a step that would pass MaxSize fails even when the pages needed fit.
const allocStep = 16 << 20

// Options configure Open. A nil *Options means all defaults.
type Options struct {
	// Timeout bounds the wait for the file lock; zero means DefaultTimeout (never
	// forever, so a second instance fails with ErrLocked instead of hanging).
	Timeout time.Duration
	// MaxSize caps the data file in bytes (bbolt Options.MaxSize); zero means
	// DefaultMaxSize. bbolt grows the file in powers of two up to 16 MiB and in
	// 16 MiB steps beyond, so a power of two wastes the least.
	MaxSize int64
	// Headroom is the part of MaxSize that only state transitions of stored
	// invoices may use: Issue fails with ErrStoreFull once less than this is free.
	// Zero means the smaller of DefaultHeadroom and MaxSize/8. It covers the
	// copy-on-write pages of one transition transaction.
	Headroom int64
	// DrainReserve is the room kept, besides Headroom, for each stored invoice
	// not yet accepted, so that the whole queue can go queued -> sending ->
	// accepted with its UPO on a store that refuses new sales. Zero means
	// DefaultDrainReserve; negative is refused.
	DrainReserve int64
	// Retention is how long an accepted invoice stays in the live file before
	// Archive moves it to the archive file; zero means never.
	Retention time.Duration
	// ArchivePath names the archive files: one bbolt file per year of issue,
	// ArchivePath + "-2026" and so on. Empty means path + ".archive". A single
	// file at ArchivePath itself (written before archives rotated by year) is
	// moved into the year files.
	ArchivePath string
	// Logger receives a few lines (recovery, archiving); nil discards.
	Logger *slog.Logger
	// Now is the clock for event times; nil means time.Now.
	Now func() time.Time
}

// Store is the durable outbox. It is safe for concurrent use; writers are
// serialised by bbolt and every write is committed with fsync before it returns.
type Store struct {
	db       *bolt.DB
	path     string
	archive  string
	maxSize  int64
	capacity int64 // the most the file can grow to under maxSize
	headroom int64
	reserve  int64 // per invoice not yet accepted
	pending  atomic.Int64
	reads    atomic.Int64 // bytes read from the mapping since it was last released (mapped.go)
	keep     time.Duration
	log      *slog.Logger
	now      func() time.Time

	archMu   sync.Mutex // serialises opening the archive files
	legacyMu sync.Mutex // serialises opening the archive file written before rotation

	crashAt func(stage string) error // tests: fail between the steps of a move

	recovered Recovery // set once by Open, read-only after
}

// Recovery lists what a previous run left unfinished; see Open for how each case
// is handled.
type Recovery struct {
	Sending  []string   // ids of invoices in upload state sending: outcome unknown
	PrintJob []PrintJob // print jobs pending or failed
}

// Bucket names. The schema version lives in meta.
var (
	bMeta      = []byte("meta")
	bInvoices  = []byte("invoices")  // id -> JSON Invoice (without blobs)
	bXML       = []byte("xml")       // id -> XML bytes
	bDoc       = []byte("doc")       // id -> snapshot
	bUPO       = []byte("upo")       // id -> UPO bytes
	bNumbers   = []byte("numbers")   // number -> id (latest record with that number)
	bSales     = []byte("sales")     // sale id -> id(8) + fingerprint(32)
	bCounters  = []byte("counters")  // terminal 0x00 period -> last seq (8)
	bIndex     = []byte("index")     // id -> indexEntry (small, for queries)
	bPrintJobs = []byte("printjobs") // job id -> JSON PrintJob
	bBlocked   = []byte("blocked")   // original id(8) + correction id(8) -> nil
	bArchived  = []byte("archived")  // id -> year (2) of the archive file holding it

	kSchema = []byte("schema")
)

// SchemaVersion is the schema this program writes. Version 2 stores XML,
// snapshots and UPOs with a codec byte, compressed (codec.go); version 1
// stored them as they came. Version 3 keeps archived invoices in one file
// per year, indexed in the live file (archive.go).
const SchemaVersion = 3

// migrations[i] brings the schema from version i to i+1, inside one transaction.
var migrations = []func(tx *bolt.Tx) error{
	0: func(tx *bolt.Tx) error {
		for _, b := range [][]byte{bInvoices, bXML, bDoc, bUPO, bNumbers, bSales, bCounters, bIndex, bPrintJobs, bBlocked} {
			if _, err := tx.CreateBucketIfNotExists(b); err != nil {
				return err
			}
		}
		return nil
	},
	1: encodeAll,
	2: func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bArchived)
		return err // an archive file from before is moved by migrateLegacy
	},
}

// encodeAll rewrites every XML, snapshot and UPO of a version-1 file, stored
// bare, with its codec byte. It is one transaction: a crash leaves the file at
// version 1, and the next Open starts again. The rewritten values are
// compressed, so they take less room than the ones they replace; the
// copy-on-write needs free room for the compressed copies until it commits.
func encodeAll(tx *bolt.Tx) error {
	for _, name := range [][]byte{bXML, bDoc, bUPO} {
		b := tx.Bucket(name)
		if b == nil {
			continue
		}
		b.FillPercent = blobFill
		var keys [][]byte
		if err := b.ForEach(func(k, _ []byte) error {
			keys = append(keys, bytes.Clone(k))
			return nil
		}); err != nil {
			return err
		}
		for _, k := range keys {
			if err := b.Put(k, encodeBlob(b.Get(k))); err != nil {
				return fmt.Errorf("%s %x: %w", name, k, err)
			}
		}
	}
	return nil
}

// Open opens or creates the store at path, migrates its schema, and records what a
// previous run left unfinished (see Recovered).
//
// Crash cases, and how each is handled (never by guessing):
//   - Crash inside an issue transaction: bbolt rolls it back; the number was never
//     acknowledged and is reused by the next sale, so the series stays gap-free.
//   - Upload state sending: KSeF may or may not have the invoice. The agent asks
//     KSeF (session/invoice status by the recorded references, or a resend that
//     answers 440 for a duplicate with our hash) and then calls MarkAccepted,
//     MarkRejected or Retry. The store never resends on its own.
//   - Print job pending or failed: if it has a StartedAt the paper may or may not
//     have come out; if not, nothing of it was sent. Recovered lists these jobs
//     and the agent settles them by their age (SettlePrints): printed again
//     with a mark that says so, or parked uncertain. A second unmarked copy is
//     never made by the store's choice.
//   - Crash during Archive: records are written to their year's archive file
//     before they are deleted here and indexed, so a record may exist in both;
//     the next Archive copies it again and finishes it. The same holds for
//     moving a single archive file from before into the year files: it is
//     removed only after all of it is copied and indexed.
func Open(path string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.defaults(); err != nil {
		return nil, err
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.Timeout, MaxSize: int(o.MaxSize)})
	if err != nil {
		if errors.Is(err, berrors.ErrTimeout) {
			return nil, fmt.Errorf("%w: %s (waited %s)", ErrLocked, path, o.Timeout)
		}
		return nil, fmt.Errorf("outbox: open %s: %w", path, mapFull(err))
	}
	s := &Store{db: db, path: path, archive: o.ArchivePath, maxSize: o.MaxSize, capacity: capacity(o.MaxSize),
		headroom: o.Headroom, reserve: o.DrainReserve, keep: o.Retention, log: o.Logger, now: o.Now}
	if o.ArchivePath == "" {
		s.archive = path + ".archive"
	}
	if err := s.migrate(); err != nil {
		db.Close()
		return nil, err
	}
	if err := s.recover(); err != nil {
		db.Close()
		return nil, err
	}
	if n, m := len(s.recovered.Sending), len(s.recovered.PrintJob); n+m > 0 {
		s.log.Info("outbox: unfinished work from the previous run", "sending", n, "print_jobs", m)
	}
	// Not fatal: until it is done, lookups still read the old file, and
	// every Archive tries again.
	if err := s.migrateLegacy(context.Background()); err != nil {
		s.log.Warn("outbox: archive files by year", "err", err)
	}
	s.dropMappedOwn() // the sweeps above touched the index and print jobs; a failure is logged
	return s, nil
}

// defaults fills the zero fields of o and checks the rest.
func (o *Options) defaults() error {
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxSize == 0 {
		o.MaxSize = DefaultMaxSize
	}
	if o.MaxSize < 256<<10 || o.MaxSize > math.MaxInt32 {
		return &RequestError{Field: "Options.MaxSize", Reason: fmt.Sprintf("%d out of range 256 KiB..2 GiB", o.MaxSize)}
	}
	if o.Headroom == 0 {
		o.Headroom = min(DefaultHeadroom, o.MaxSize/8)
	}
	if o.Headroom < 0 || o.Headroom >= o.MaxSize/2 {
		return &RequestError{Field: "Options.Headroom", Reason: "must be between 0 and half of MaxSize"}
	}
	if o.DrainReserve == 0 {
		o.DrainReserve = DefaultDrainReserve
	}
	if o.DrainReserve < 0 || o.DrainReserve > o.MaxSize/16 {
		return &RequestError{Field: "Options.DrainReserve", Reason: "must be between 0 and MaxSize/16"}
	}
	if o.Retention < 0 {
		return &RequestError{Field: "Options.Retention", Reason: "negative"}
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return nil
}

func (s *Store) migrate() error {
	var from uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if b := tx.Bucket(bMeta); b != nil {
			if v := b.Get(kSchema); len(v) == 8 {
				from = binary.BigEndian.Uint64(v)
			} else if v != nil {
				return fmt.Errorf("%w: schema version is %d bytes", ErrCorrupt, len(v))
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if from > SchemaVersion {
		return fmt.Errorf("%w: file has schema %d, this program knows up to %d", ErrSchemaTooNew, from, SchemaVersion)
	}
	if from == SchemaVersion {
		return nil
	}
	err = s.db.Update(func(tx *bolt.Tx) error {
		for v := from; v < SchemaVersion; v++ {
			if err := migrations[v](tx); err != nil {
				return fmt.Errorf("migrate %d -> %d: %w", v, v+1, err)
			}
		}
		meta, err := tx.CreateBucketIfNotExists(bMeta)
		if err != nil {
			return err
		}
		return meta.Put(kSchema, u64(SchemaVersion))
	})
	if err != nil {
		return fmt.Errorf("outbox: %w", mapFull(err))
	}
	return nil
}

// capacity is the largest file bbolt grows to under maxSize: up to allocStep
// the mapping doubles from 32 KiB, so the largest such size that fits; beyond,
// a growth must leave a whole step below maxSize.
func capacity(maxSize int64) int64 {
	if maxSize > allocStep {
		return max(maxSize-allocStep, allocStep)
	}
	c := int64(32 << 10)
	for c*2 <= maxSize {
		c *= 2
	}
	return c
}

func (s *Store) recover() error {
	return s.db.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bIndex).Cursor()
		var pending int64
		for k, v := c.First(); k != nil; k, v = c.Next() {
			s.touched(tx, len(k)+len(v))
			up := decodeIndex(v).upload
			if up.drains() {
				pending++
			}
			// Ids only: after a crash mid-batch thousands may be sending,
			// and decoding each record would cost seconds on ARM and their
			// copies would stay in memory for the whole run.
			if up == UploadSending {
				s.recovered.Sending = append(s.recovered.Sending, keyID(k))
			}
		}
		s.pending.Store(pending)
		return tx.Bucket(bPrintJobs).ForEach(func(k, v []byte) error {
			s.touched(tx, len(k)+len(v))
			var j PrintJob
			if err := json.Unmarshal(v, &j); err != nil {
				return fmt.Errorf("%w: print job %x: %w", ErrCorrupt, k, err)
			}
			if j.State == PrintPending || j.State == PrintFailed {
				s.recovered.PrintJob = append(s.recovered.PrintJob, j)
			}
			return nil
		})
	})
}

// Recovered returns what was unfinished when the store was opened: invoices left
// sending (to reconcile with KSeF) and print jobs pending or failed (to settle: see SettlePrints).
func (s *Store) Recovered() Recovery {
	return Recovery{Sending: cloneSlice(s.recovered.Sending), PrintJob: cloneSlice(s.recovered.PrintJob)}
}

func cloneSlice[T any](v []T) []T { return append([]T(nil), v...) }

// Path returns the path of the live file.
func (s *Store) Path() string { return s.path }

// Close closes the store. It is safe to call more than once.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("outbox: close: %w", err)
	}
	return nil
}

// Compact writes a compacted copy of the live file to dst, which must not exist.
// bbolt files never shrink; to reclaim space after Archive, stop the service,
// Compact, then rename dst over the live file.
func (s *Store) Compact(ctx context.Context, dst string) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if _, err := os.Stat(dst); err == nil {
		return &RequestError{Field: "dst", Reason: dst + " already exists"}
	}
	out, err := bolt.Open(dst, 0o600, &bolt.Options{Timeout: DefaultTimeout})
	if err != nil {
		return fmt.Errorf("outbox: compact: %w", mapFull(err))
	}
	if err := bolt.Compact(out, s.db, 4<<20); err != nil {
		out.Close()
		os.Remove(dst)
		return fmt.Errorf("outbox: compact: %w", mapFull(err))
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("outbox: compact: %w", err)
	}
	return s.ReleaseMapped() // the copy read every page
}

// Reclaimable returns the file's size and the bytes Compact would give back:
// free pages plus the tail beyond the high-water mark. It begins and rolls
// back a write transaction first, since bbolt counts free pages only when one
// ends (right after Open it has not).
func (s *Store) Reclaimable() (size, free int64, err error) {
	tx, err := s.db.Begin(true)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return 0, 0, ErrClosed
	}
	if err != nil {
		return 0, 0, fmt.Errorf("outbox: inspect %s: %w", s.path, err)
	}
	hwm := tx.Size()
	if err := tx.Rollback(); err != nil {
		return 0, 0, fmt.Errorf("outbox: inspect %s: %w", s.path, err)
	}
	st, err := os.Stat(s.path)
	if err != nil {
		return 0, 0, fmt.Errorf("outbox: inspect %s: %w", s.path, err)
	}
	return st.Size(), st.Size() - hwm + int64(s.db.Stats().FreeAlloc), nil
}

// Size reports the bytes in use (excluding free pages) and the file's cap.
func (s *Store) Size() (used, limit int64, err error) {
	err = s.view(func(tx *bolt.Tx) error {
		used = s.used(tx)
		return nil
	})
	return used, s.maxSize, err
}

// Room describes how much of the store is left, for callers that size their
// transactions by it (Room.Free) or report it.
type Room struct {
	Used     int64 // bytes in pages in use
	Capacity int64 // the most the file can grow to under Options.MaxSize
	Free     int64 // Capacity - Used
	Pending  int64 // invoices not yet accepted (each holds a DrainReserve)
	// SalesLimit is the Used at which Issue refuses new sales: Capacity minus
	// Headroom and the reserve of every pending invoice.
	SalesLimit int64
	// Reserve is Options.DrainReserve: what each pending invoice holds, and
	// what a new sale must leave for itself besides its bytes.
	Reserve int64
}

// Fits reports whether Issue would store a new invoice taking n bytes at
// rest (compressed XML and snapshot) now: it is the test Issue applies.
func (r Room) Fits(n int64) bool { return r.Used+n+issueOverhead <= r.SalesLimit-r.Reserve }

// Full reports whether Issue refuses every new sale now (ErrStoreFull).
func (r Room) Full() bool { return !r.Fits(0) }

// fitsOwed is Fits for an invoice the store already owes: a correction the
// till was told is pending (202) when its original had no KSeF number yet.
// It may use the pending invoices' drain reserves, never the Headroom a
// transition needs, so a full store still issues what it acknowledged.
func (r Room) fitsOwed(n int64) bool {
	return r.Used+n+issueOverhead <= r.SalesLimit+r.Pending*r.Reserve
}

// RoomOfFile is the Room of a store whose file is size bytes long, every page
// in use and nothing pending, under opts (nil: defaults): the most its use
// can be, for when the store cannot be opened (the service holds it) and
// only the file's size is known. Invalid options are a *RequestError.
func RoomOfFile(size int64, opts *Options) (Room, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if err := o.defaults(); err != nil {
		return Room{}, err
	}
	r := Room{Used: size, Capacity: capacity(o.MaxSize), Reserve: o.DrainReserve}
	r.Free, r.SalesLimit = r.Capacity-r.Used, r.Capacity-o.Headroom
	return r, nil
}

// NearFull reports whether new sales are refused or nearly so (less than a
// Headroom left before SalesLimit): the time to transition in small
// transactions and to archive.
func (r Room) NearFull() bool { return r.Used+r.Capacity/8 >= r.SalesLimit }

// Room reports the store's room; see Room.
func (s *Store) Room() (Room, error) {
	var r Room
	err := s.view(func(tx *bolt.Tx) error {
		r = s.room(tx)
		return nil
	})
	return r, err
}

func (s *Store) room(tx *bolt.Tx) Room {
	r := Room{Used: s.used(tx), Capacity: s.capacity, Pending: s.pending.Load(), Reserve: s.reserve}
	r.Free, r.SalesLimit = r.Capacity-r.Used, s.capacity-s.headroom-r.Pending*s.reserve
	return r
}

func (s *Store) used(tx *bolt.Tx) int64 {
	return tx.Size() - int64(s.db.Stats().FreeAlloc)
}

func (s *Store) view(fn func(*bolt.Tx) error) error {
	err := s.db.View(fn)
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	s.afterTx()
	return err
}

func (s *Store) update(ctx context.Context, fn func(*bolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		tx.OnCommit(func() { s.committed(tx) })
		if err := fn(tx); err != nil {
			return err
		}
		return ctx.Err() // cancelled while we waited for the writer lock: roll back
	})
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	s.afterTx()
	return mapFull(err)
}

// mapFull turns bbolt's cap and the disk's ENOSPC into ErrStoreFull.
func mapFull(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, berrors.ErrMaxSizeReached) || errors.Is(err, syscall.ENOSPC) {
		return fmt.Errorf("%w: %w", ErrStoreFull, err)
	}
	return err
}

// Keys and ids.

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func formatID(n uint64) string { return fmt.Sprintf("%010d", n) }

func parseID(id string) ([]byte, error) {
	n, err := strconv.ParseUint(id, 10, 64)
	if err != nil || n == 0 {
		return nil, fmt.Errorf("%w: %q", ErrInvalidID, id)
	}
	return u64(n), nil
}

func keyID(k []byte) string { return formatID(binary.BigEndian.Uint64(k)) }

func counterKey(terminal, period string) []byte {
	return append(append([]byte(terminal), 0), period...)
}

// indexEntry is the small per-invoice row that queries scan instead of records.
type indexEntry struct {
	upload    UploadState
	print     PrintState
	deadline  int64 // unix nanos, 0 = none
	notBefore int64 // unix nanos, 0 = none
}

var (
	uploadCodes = map[UploadState]byte{UploadQueued: 'q', UploadSending: 's', UploadAccepted: 'a', UploadRejected: 'r', UploadBlocked: 'b', UploadOutside: 'o'}
	printCodes  = map[PrintState]byte{PrintNone: '-', PrintPending: 'p', PrintPrinted: 'P', PrintFailed: 'f', PrintUncertain: 'u'}
)

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func (e indexEntry) encode() []byte {
	b := []byte{uploadCodes[e.upload], printCodes[e.print]}
	b = binary.BigEndian.AppendUint64(b, uint64(e.deadline))
	return binary.BigEndian.AppendUint64(b, uint64(e.notBefore))
}

func decodeIndex(b []byte) indexEntry {
	var e indexEntry
	if len(b) != 18 {
		return e
	}
	for s, c := range uploadCodes {
		if c == b[0] {
			e.upload = s
		}
	}
	for s, c := range printCodes {
		if c == b[1] {
			e.print = s
		}
	}
	e.deadline = int64(binary.BigEndian.Uint64(b[2:]))
	e.notBefore = int64(binary.BigEndian.Uint64(b[10:]))
	return e
}

func entryOf(inv *Invoice) indexEntry {
	return indexEntry{upload: inv.Upload, print: inv.Print, deadline: nanos(inv.Deadline), notBefore: nanos(inv.NotBefore)}
}

// getInvoice reads a record and, with blobs, its XML, snapshot and UPO. Everything
// returned is a copy: nothing points into the mmap.
func getInvoice(tx *bolt.Tx, key []byte, blobs bool) (*Invoice, error) {
	v := tx.Bucket(bInvoices).Get(key)
	if v == nil {
		return nil, fmt.Errorf("%w: invoice %s", ErrNotFound, keyID(key))
	}
	inv := new(Invoice)
	err := json.Unmarshal(v, inv)
	if err != nil {
		return nil, fmt.Errorf("%w: invoice %s: %w", ErrCorrupt, keyID(key), err)
	}
	if !blobs {
		return inv, nil
	}
	if inv.XML, err = getXML(tx, key, inv.Hash); err != nil {
		return nil, err
	}
	if inv.Doc, err = getDoc(tx, key); err != nil {
		return nil, err
	}
	if inv.UPO, err = decodeBlob(tx.Bucket(bUPO).Get(key)); err != nil {
		return nil, fmt.Errorf("%w: UPO of invoice %s: %w", ErrCorrupt, keyID(key), err)
	}
	return inv, nil
}

// getDoc reads and decodes the snapshot of a record.
func getDoc(tx *bolt.Tx, key []byte) ([]byte, error) {
	doc, err := decodeBlob(tx.Bucket(bDoc).Get(key))
	if err != nil {
		return nil, fmt.Errorf("%w: snapshot of invoice %s: %w", ErrCorrupt, keyID(key), err)
	}
	return doc, nil
}

// getXML reads and decodes the XML of a record and checks it against the
// record's hash: the upload and KOD I depend on these exact bytes. A record
// without XML returns nil (Check reports it).
func getXML(tx *bolt.Tx, key []byte, want Hash) ([]byte, error) {
	xml, err := decodeBlob(tx.Bucket(bXML).Get(key))
	if err != nil {
		return nil, fmt.Errorf("%w: XML of invoice %s: %w", ErrCorrupt, keyID(key), err)
	}
	if xml != nil && HashOf(xml) != want {
		return nil, fmt.Errorf("%w: XML of invoice %s (%d bytes) does not match its SHA-256 %s", ErrCorrupt, keyID(key), len(xml), want)
	}
	return xml, nil
}

// put is putInvoice on the live file: it also keeps the count of invoices not
// yet accepted, applied only when the transaction commits.
func (s *Store) put(tx *bolt.Tx, inv *Invoice) error {
	key, err := parseID(inv.ID)
	if err != nil {
		return err
	}
	wasPending := false
	old := tx.Bucket(bIndex).Get(key)
	if old != nil {
		wasPending = decodeIndex(old).upload.drains()
	}
	if err := putInvoice(tx, inv); err != nil {
		return err
	}
	if inv.Upload == UploadAccepted || inv.Upload == UploadRejected {
		if err := unprioritize(tx, key); err != nil {
			return err
		}
	}
	d := int64(0)
	if inv.Upload.drains() {
		d++
	}
	if wasPending {
		d--
	}
	if d != 0 {
		tx.OnCommit(func() { s.pending.Add(d) })
	}
	return nil
}

// putInvoice writes the record and its index row; blobs are written separately.
func putInvoice(tx *bolt.Tx, inv *Invoice) error {
	key, err := parseID(inv.ID)
	if err != nil {
		return err
	}
	v, err := json.Marshal(inv)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bInvoices).Put(key, v); err != nil {
		return err
	}
	return tx.Bucket(bIndex).Put(key, entryOf(inv).encode())
}

func getJob(tx *bolt.Tx, id string) (*PrintJob, error) {
	key, err := parseID(id)
	if err != nil {
		return nil, err
	}
	v := tx.Bucket(bPrintJobs).Get(key)
	if v == nil {
		return nil, fmt.Errorf("%w: print job %s", ErrNotFound, id)
	}
	j := new(PrintJob)
	if err := json.Unmarshal(v, j); err != nil {
		return nil, fmt.Errorf("%w: print job %s: %w", ErrCorrupt, id, err)
	}
	return j, nil
}

func putJob(tx *bolt.Tx, j *PrintJob) error {
	key, err := parseID(j.ID)
	if err != nil {
		return err
	}
	v, err := json.Marshal(j)
	if err != nil {
		return err
	}
	return tx.Bucket(bPrintJobs).Put(key, v)
}
