package certstore_test

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"github.com/posagent/posagent/certstore"
)

// A generated Offline certificate is parsed and signs a KOD II digest.
func Example() {
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	certPEM, keyPEM, err := certstore.Generate(certstore.Offline, "5265877635", certstore.KeyEC, from, 730*24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	c, err := certstore.Parse(certstore.Offline, append(certPEM, keyPEM...), "", from.AddDate(0, 6, 0))
	if err != nil {
		log.Fatal(err)
	}
	info := c.Info()
	fmt.Println(info.Usage, info.KeyType, len(c.CertSerial()))
	fmt.Println(info.Subject)
	fmt.Println("days left:", info.DaysLeft(time.Date(2027, 12, 1, 0, 0, 0, 0, time.UTC)))

	digest := sha256.Sum256([]byte("qr-test.ksef.mf.gov.pl/certificate/Nip/5265877635/5265877635/…"))
	sig, err := c.Sign(nil, digest[:], crypto.SHA256)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("verifies:", ecdsa.VerifyASN1(c.Public().(*ecdsa.PublicKey), digest[:], sig))
	// Output:
	// offline ec 16
	// CN=5265877635,organizationIdentifier=VATPL-5265877635,C=PL
	// days left: 31
	// verifies: true
}

// A store unlocked by a machine key keeps the certificate across restarts.
func ExampleStore() {
	dir, err := os.MkdirTemp("", "certstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	keyFile := filepath.Join(dir, "machine.key")
	if err := certstore.CreateMachineKey(keyFile); err != nil {
		log.Fatal(err)
	}
	s, err := certstore.Open(filepath.Join(dir, "certs"), &certstore.Options{MachineKeyFile: keyFile})
	if err != nil {
		log.Fatal(err)
	}
	certPEM, keyPEM, err := certstore.Generate(certstore.Offline, "5265877635", certstore.KeyRSA, time.Now().Add(-time.Hour), 365*24*time.Hour)
	if err != nil {
		log.Fatal(err)
	}
	if _, err := s.Import(certstore.Offline, append(certPEM, keyPEM...), ""); err != nil {
		log.Fatal(err)
	}

	list, err := s.List()
	if err != nil {
		log.Fatal(err)
	}
	for _, info := range list {
		fmt.Println(info.Usage, info.KeyType, info.DaysLeft(time.Now()))
	}
	c, err := s.Load(certstore.Offline)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(c.CertSerial() == list[0].Serial)
	// Output:
	// offline rsa 364
	// true
}

// A CSR for KSeF enrollment: the pending key stays sealed in the store
// until ImportCertificate pairs it with the issued certificate.
func ExampleStore_CreateCSR() {
	dir, err := os.MkdirTemp("", "certstore-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	keyFile := filepath.Join(dir, "machine.key")
	if err := certstore.CreateMachineKey(keyFile); err != nil {
		log.Fatal(err)
	}
	s, err := certstore.Open(filepath.Join(dir, "certs"), &certstore.Options{MachineKeyFile: keyFile})
	if err != nil {
		log.Fatal(err)
	}
	csr, err := s.CreateCSR(certstore.Offline, certstore.Subject{
		CommonName:             "Sklep Żabka 12",
		CountryName:            "PL",
		OrganizationName:       "Sklep sp. z o.o.",
		OrganizationIdentifier: "VATPL-5265877635",
	}, certstore.KeyEC)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(string(csr.PEM[:35]))
	// Output:
	// -----BEGIN CERTIFICATE REQUEST-----
}
