// Package certstoretest provides test helpers for code that uses certstore:
// a store in a temporary directory, unlocked by a fresh machine key with
// cheap argon2id parameters, and generated self-signed KSeF-like
// certificates, so no test needs a committed private key.
//
// Cert returns a ready signer for the ksef package's tests:
//
//	signer := certstoretest.Cert(t, certstore.Offline, certstore.KeyEC)
//	link, err := ksef.KOD2(…, signer)
package certstoretest
