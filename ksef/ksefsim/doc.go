// Package ksefsim is a KSeF API v2 simulator for tests and the demo. It speaks
// the official wire format (own types, written from the OpenAPI document and
// the ksef-docs prose, independently of package ksefapi) and does the real
// work behind it: RSA-OAEP and AES-256-CBC decryption, XAdES signature
// verification, hash and size checks, FA(3) basics, duplicate detection,
// KSeF numbers with a CRC-8, UPO documents valid against upo-v4-3.xsd, and the
// official rate limits.
//
// # Concepts
//
// A Server holds all state in memory behind one mutex. Handler serves:
//
//	/v2/...              the API endpoints the client uses (bearer-protected
//	                     where KSeF requires it; 401 otherwise)
//	/blob/upo/...        pre-signed UPO downloads (GET, no bearer, HMAC + expiry)
//	/blob/batch/...      pre-signed batch part uploads (PUT, no bearer)
//	/latarnia/status     the availability feed {status, messages[]}
//	/latarnia/messages   its message list
//	/admin/...           fault controls and inspection (JSON, below)
//
// The admin endpoints mirror the Go API (InjectFault, ClearFaults,
// RotateKeys, ExpireSessions, ExpireTokens, SetAvailability, Invoices,
// SetCertificateStatus, CACertificatePEM):
//
//	POST   /admin/faults          {"kind":"html502","count":2,"pathPrefix":"/v2/sessions","delay":"1s"}
//	DELETE /admin/faults
//	POST   /admin/rotate-keys
//	POST   /admin/expire-sessions
//	POST   /admin/expire-tokens   {"refresh":true}
//	POST   /admin/availability    {"status":"FAILURE","text":"..."}
//	GET    /admin/invoices
//	POST   /admin/certificates/{serial}/status  {"status":"Revoked"}
//	GET    /admin/ca
//
// Use it with httptest.NewServer(s.Handler()) or Start/Close; package
// ksefsimtest does the former for other packages' tests. Errors come as
// problem+json when the request has X-Error-Format: problem-details, else as
// the legacy ExceptionResponse; 401 and 403 are always problem+json, as in
// the OpenAPI document.
//
// Processing is synchronous: an invoice is decrypted, checked and numbered
// when it arrives, but the result is reported as "processing" until
// Options.ProcessingDelay has passed on the simulator's clock (Options.Now).
// The same delay applies to authentication operations and session closing.
//
// Options.TimeScale compresses rate-limit windows: with TimeScale 3600 the
// one-hour window lasts one second of the simulator's clock and the
// one-minute window lasts 1/60 s. Retry-After is computed on the scaled
// windows and rounded up to whole seconds, at least 1.
//
// Authentication accepts the KSeF tokens listed in Options.Tokens until
// Options.TokenAuthEnd (default 2027-01-01 00:00 Warsaw, on the simulator's
// clock: § 13 ust. 1 pkt 1 of the KSeF regulation of 12.12.2025); from then
// a token login ends in status 450 "Token nieaktywny", and access and
// refresh tokens of earlier token logins expire at that instant. It accepts
// any XAdES-signed AuthTokenRequest whose certificate names the context NIP
// (organizationIdentifier VATPL-, serialNumber TINPL-/NIP- or a 10-digit CN).
// Self-signed certificates are accepted, as on the TE environment, unless the
// request asks for verifyCertificateChain=true: the simulator trusts only its
// own CA, so that check fails every other certificate (status 460).
//
// Certificates: the simulator is a KSeF certification authority. After an
// XAdES login, GET /certificates/enrollments/data returns the login
// certificate's subject attributes; POST /certificates/enrollments takes a
// PKCS#10 request that carries exactly those attributes (else 25003), with
// an RSA-2048 or EC P-256 key (25010), within the subject's limits (300
// requests, 100 active certificates; 25006/25007), and issues a certificate
// signed by its CA: keyUsage Digital Signature for Authentication,
// Non-Repudiation for Offline, valid Options.CertificateValidity. Status,
// retrieve, query (paged, newest request first) and revoke follow the
// OpenAPI; a token login may neither enroll (25001/25002, canRequest false)
// nor revoke (403 auth-method-not-allowed). An XAdES login with a
// certificate the simulator issued fails with status 460 when it is an
// Offline certificate, or revoked, blocked or expired.
// SetCertificateStatus revokes or blocks (suspends) one as KSeF's own
// processes would.
//
// # Caveats
//
// The simulator has no permission model beyond "the subject's NIP is the
// context NIP", no FA(3) XSD validation (only the basics the docs list), and
// no persistence of invoice XML: it keeps hashes, numbers and dates. Batch
// parts uploaded to a session that is still open are not saved in the state
// file. A rate-limit block does not grow on repeated violations (KSeF's
// does). ProcessingDelay is not divided by TimeScale. The /admin endpoints
// are unauthenticated: never expose a simulator to a network you do not
// trust.
package ksefsim
