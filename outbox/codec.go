package outbox

import (
	"bytes"
	"compress/flate"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"sync"
)

// Values of the xml, doc and upo buckets are stored with a one-byte codec
// header (schema 2):
//
//	codecRaw:   0x00, the bytes
//	codecFlate: 0x01, uvarint length, DEFLATE stream, CRC-32 (IEEE, big endian) of the bytes
//
// A value is compressed only when that saves room. The length bounds what a
// damaged stream may inflate to, and the CRC catches damage that DEFLATE
// itself does not; the XML is checked against the record's SHA-256 as well.
const (
	codecRaw   byte = 0
	codecFlate byte = 1
)

// flateLevel is the compression level of values at rest. Level 1 keeps Issue
// cheap (it compresses inside the single-writer transaction); the higher
// levels gain a few percent on 3 KiB documents for several times the CPU.
const flateLevel = flate.BestSpeed

// maxBlob is the largest value decoded: more than any FA(3) invoice (KSeF
// takes up to 1 MB in an online session) or UPO, and it keeps a damaged
// length from allocating without bound.
const maxBlob = 64 << 20

var (
	writers = sync.Pool{New: func() any {
		w, err := flate.NewWriter(nil, flateLevel)
		if err != nil {
			panic(err) // flateLevel is a valid constant
		}
		return w
	}}
	readers = sync.Pool{New: func() any { return flate.NewReader(nil) }}
)

// encodeBlob returns b as stored: compressed when that is smaller.
func encodeBlob(b []byte) []byte {
	var buf bytes.Buffer
	buf.Grow(len(b)/2 + 16)
	buf.WriteByte(codecFlate)
	buf.Write(binary.AppendUvarint(nil, uint64(len(b))))
	w := writers.Get().(*flate.Writer)
	w.Reset(&buf)
	_, werr := w.Write(b) // a bytes.Buffer does not fail
	cerr := w.Close()
	writers.Put(w)
	if werr == nil && cerr == nil && buf.Len()+4 < 1+len(b) {
		return binary.BigEndian.AppendUint32(buf.Bytes(), crc32.ChecksumIEEE(b))
	}
	return append([]byte{codecRaw}, b...)
}

// errBlob is the cause inside the ErrCorrupt of a value that does not decode.
var errBlob = errors.New("stored value does not decode")

// decodeBlob returns the bytes of a stored value, always a copy: v may point
// into the mmap. A nil v (no value) returns nil.
func decodeBlob(v []byte) ([]byte, error) {
	if v == nil {
		return nil, nil
	}
	if len(v) == 0 {
		return nil, fmt.Errorf("%w: empty, no codec byte", errBlob)
	}
	switch v[0] {
	case codecRaw:
		return bytes.Clone(v[1:]), nil
	case codecFlate:
	default:
		return nil, fmt.Errorf("%w: unknown codec 0x%02x", errBlob, v[0])
	}
	n, k := binary.Uvarint(v[1:])
	if k <= 0 || n > maxBlob {
		return nil, fmt.Errorf("%w: bad length header", errBlob)
	}
	body := v[1+k:]
	if len(body) < 4 {
		return nil, fmt.Errorf("%w: truncated", errBlob)
	}
	sum := binary.BigEndian.Uint32(body[len(body)-4:])
	r := readers.Get().(io.ReadCloser)
	defer readers.Put(r)
	if err := r.(flate.Resetter).Reset(bytes.NewReader(body[:len(body)-4]), nil); err != nil {
		return nil, fmt.Errorf("%w: %w", errBlob, err)
	}
	out := make([]byte, n)
	if _, err := io.ReadFull(r, out); err != nil {
		return nil, fmt.Errorf("%w: %d bytes expected: %w", errBlob, n, err)
	}
	if m, err := r.Read(make([]byte, 1)); m != 0 || !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: longer than its %d-byte header says", errBlob, n)
	}
	if crc32.ChecksumIEEE(out) != sum {
		return nil, fmt.Errorf("%w: CRC-32 mismatch", errBlob)
	}
	return out, nil
}
