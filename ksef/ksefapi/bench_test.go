package ksefapi_test

import (
	"bytes"
	"testing"

	"github.com/posagent/posagent/ksef/ksefapi"
)

func BenchmarkEncryptCBC(b *testing.B) {
	key, iv := make([]byte, 32), make([]byte, 16)
	plain := bytes.Repeat([]byte("<FaWiersz>…</FaWiersz>"), 300) // ~7 kB, a long receipt
	b.SetBytes(int64(len(plain)))
	for b.Loop() {
		if _, err := ksefapi.EncryptCBC(key, iv, plain); err != nil {
			b.Fatal(err)
		}
	}
}
