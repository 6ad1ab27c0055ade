package certstore_test

import (
	"path/filepath"
	"sync"
	"testing"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
)

// Readers racing a writer see the old or the new certificate, whole.
func TestConcurrentImportLoad(t *testing.T) {
	keys(t)
	s := certstoretest.NewStore(t, fixedNow)
	bundles := [][]byte{
		concat(makeCert(t, certSpec{key: ec256, serial: 1}), pkcs8PEM(t, ec256)),
		concat(makeCert(t, certSpec{key: ec256b, serial: 2}), pkcs8PEM(t, ec256b)),
	}
	if _, err := s.Import(certstore.Offline, bundles[0], ""); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Go(func() {
			for i := range 20 {
				if _, err := s.Import(certstore.Offline, bundles[(i+w)%2], ""); err != nil {
					t.Errorf("Import: %v", err)
					return
				}
			}
		})
	}
	for range 3 {
		wg.Go(func() {
			for range 40 {
				c, err := s.Load(certstore.Offline)
				if err != nil {
					t.Errorf("Load during Import: %v", err)
					return
				}
				want := map[string]any{"0000000000000001": &ec256.PublicKey, "0000000000000002": &ec256b.PublicKey}[c.CertSerial()]
				if want == nil || !publicEqual(c.Public(), want) {
					t.Errorf("Load returned serial %s with a key that is not its own", c.CertSerial())
					return
				}
			}
		})
	}
	wg.Wait()
}

// Terminals starting at once on a fresh directory agree on one store.json.
func TestConcurrentFirstOpen(t *testing.T) {
	keys(t)
	dir := t.TempDir()
	pass := writeSecret(t, dir, "shared passphrase", 0o600)
	storeDir := filepath.Join(dir, "store")
	stores := make([]*certstore.Store, 4)
	var wg sync.WaitGroup
	for i := range stores {
		wg.Go(func() {
			s, err := certstore.Open(storeDir, fastOpts(certstore.Options{PassphraseFile: pass}))
			if err != nil {
				t.Errorf("Open %d: %v", i, err)
			}
			stores[i] = s
		})
	}
	wg.Wait()
	if t.Failed() {
		return
	}
	if _, err := stores[0].Import(certstore.Offline, concat(makeCert(t, certSpec{key: ec256}), pkcs8PEM(t, ec256)), ""); err != nil {
		t.Fatal(err)
	}
	for i, s := range stores {
		if _, err := s.Load(certstore.Offline); err != nil {
			t.Errorf("store %d cannot read what store 0 wrote: %v", i, err)
		}
	}
}
