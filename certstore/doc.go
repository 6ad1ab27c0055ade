// Package certstore keeps the KSeF certificates of a terminal and their
// private keys, and signs with them.
//
// # Concepts
//
// A KSeF certificate has exactly one [Usage]: [Offline] certificates
// (keyUsage Non-Repudiation) sign KOD II links on offline invoices,
// [Authentication] certificates (keyUsage Digital Signature) sign the XAdES
// AuthTokenRequest. The store holds at most one certificate per usage.
//
// [Parse] reads a certificate with its private key from PEM (PKCS#8, PKCS#1
// or SEC1 keys; certificate and key in one input, or two files joined) or
// from PKCS#12 with a password. It checks that the key is RSA of at least
// 2048 bits or ECDSA P-256, that it matches the certificate, that keyUsage
// fits the requested usage, and that the validity window holds; each
// failure has its own sentinel or typed error.
//
// A [Store] lives in one directory (0700) and keeps one file per usage,
// "<usage>.pem": the certificate as a plain CERTIFICATE block and the private
// key as an AES-256-GCM sealed block. Both are replaced together by one
// atomic rename (temp file, fsync, rename, directory fsync), so a crash never
// pairs a certificate with another key. The sealing key is derived from a
// passphrase file with argon2id ([DefaultKDF]: 64 MiB, so callers on small
// terminals should return that memory to the OS after [Open]), or from a
// machine key file ([CreateMachineKey], 256 random bits) with HKDF-SHA256,
// and a random salt kept in "store.json" with the KDF's name and parameters
// and a verifier, so a wrong secret is reported by [Open]. A store keeps the
// KDF it was created with. store.json is created exclusively, so terminals
// starting together agree on one salt. A sealed key's additional data names
// its usage and hashes its certificate, so moving or swapping blocks between
// files is detected. Every file is 0600; secret files and the directory that
// give group or others any access are refused.
//
// Enrollment: [Store.CreateCSR] makes a new key pair (EC P-256 by default,
// or RSA 2048), seals it as "<usage>.pending.pem" and returns a PKCS#10
// request carrying the DN attributes KSeF returned. [Store.ImportCertificate]
// installs the certificate KSeF issues for it and consumes the pending key.
//
// Next to each certificate a [Record] ("<usage>.ksef.json", no secrets)
// keeps what KSeF last said about it (Active, Blocked, Revoked, Expired;
// [Record.Unusable]) and the reference of an enrollment in flight, so a
// restart resumes it rather than spending another request of the subject's
// limit. [Store.LoadAnyTime] loads a certificate outside its validity window
// so its holder can keep reporting it (and refuse to sign with it).
//
// A wrong usage is refused on import with a *[UsageError] that names the
// type the certificate does fit: Authentication and Offline are distinct
// KSeF certificate types, each with one keyUsage.
//
// [Generate] makes self-signed, KSeF-like certificates for tests and the
// demo; package certstoretest wraps it and opens throwaway stores.
//
// [Cert] is a [crypto.Signer] with CertSerial, so it satisfies ksef.Signer.
// It signs whatever digest and options the caller passes (RSASSA-PSS or
// PKCS#1 v1.5 for RSA, ASN.1 DER for ECDSA); formatting for a particular use,
// such as IEEE P1363 r||s for KOD II, belongs to the caller.
//
// # Caveats
//
//   - Key material never appears in errors or in the output of any fmt verb
//     on the package's types; parse errors say what is wrong, never which
//     bytes.
//   - Encrypted PEM private keys are refused: use PKCS#12 for protected input.
//   - Only the leaf certificate is kept; chain certificates are ignored.
//   - Input is capped at [MaxInputSize] and PKCS#12 MAC iterations at 2^20;
//     iteration counts of encrypted PKCS#12 bags are not bounded in a file
//     without a MAC.
//   - Serial numbers longer than 64 bits are printed in full, so CertSerial
//     is at least, not exactly, 16 hex digits. KSeF issues 64-bit serials.
//   - uniqueIdentifier (2.5.4.45) is written as UTF8String, as KSeF hands it
//     out as text, although X.520 defines it as a BIT STRING.
//   - Writers within one process are serialised; two processes writing the
//     same usage at once each write a whole file and the last one wins.
//   - The package does not log.
package certstore
