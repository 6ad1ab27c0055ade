// Package ksefapi is a client for the Polish KSeF API v2: MF public keys,
// authentication (KSeF token or XAdES), online and batch sessions, invoice and
// session status, UPO download, and the Latarnia availability feed.
//
// # Concepts
//
// A Client is built from a Config (environment or BaseURL override, context
// identifier, credentials). Authenticate runs challenge → identity proof →
// status polling → redeem and keeps the tokens; every later call takes its
// bearer from an internal token source that refreshes the access token
// RefreshSkew before its expiry (the earlier of validUntil and the JWT exp) and
// logs in again if the refresh token is rejected. A call answered 401 drops the
// access token and is repeated once with a fresh one. Concurrent callers share
// one refresh or login.
//
// Online: OpenOnline makes a fresh AES-256 key and IV, wraps the key with
// RSA-OAEP SHA-256 under the MF SymmetricKeyEncryption key and opens the
// session (form FA (3) / 1-0E / FA). OnlineSession.Send encrypts one invoice
// (AES-256-CBC, PKCS#7, ciphertext only) and returns the invoice reference
// number. Close, SessionStatus, InvoiceStatus, ListInvoices/AllInvoices and
// DownloadUPO (pre-signed URL, no bearer, checked against x-ms-meta-hash) or
// InvoiceUPO (through the API) follow the invoice to its KSeF number and UPO.
//
// Certificates (ksef-api.md §2): CertificateLimits, EnrollmentData, Enroll,
// EnrollmentStatus and WaitEnrollment, RetrieveCertificates (each one parsed
// and checked against the serial KSeF names), RevokeCertificate and
// QueryCertificates (paged) / CertificateStatusOf. KSeF allows enrollment
// and revocation only after an XAdES login. SetCredentials swaps the
// credentials of later logins (a renewed Authentication certificate) and
// Config.OnLogin reports every login's outcome.
//
// Batch: SendBatch streams the invoices into a ZIP in a temporary file, cuts
// it into parts of at most BatchOptions.PartSize bytes, encrypts and hashes
// each part into its own temporary file, opens the session, PUTs the parts to
// the pre-signed URLs (without the bearer), closes and waits for the result.
// Its errors are *BatchError: the stage that failed (prepare, open, upload,
// close, poll), the session reference once KSeF named one, and MayProcess,
// which says whether KSeF may still process the session.
//
// Every answer's Date header measures the client's clock against KSeF's
// (ClockSkew), for the agent's clock-skew gauge.
//
// Ping is the link probe: one unauthenticated GET of the public keys
// (limited only per second), whose answer is not parsed.
//
// # Errors
//
// A failed call returns *APIError (HTTP status, KSeF codes, description,
// details, Retry-After) with Retryable(); errors.Is maps KSeF codes onto the
// sentinels (ErrSessionFull for 21155, ErrTechnicalCorrectionUnavailable and
// ErrTechnicalCorrectionNotAllowed for 21166/21167, ErrUnknownPublicKey for
// 21470, on which the client re-fetches the keys and retries once). A failed
// asynchronous operation (auth, session, invoice) is a *StatusError.
//
// # Caveats
//
// The client retries nothing on its own except the two cases above (21470 and
// 401): the caller owns the retry policy and persists APIError.RetryAfter.
// OnlineSession keeps its AES key in memory only; after a restart the session
// is abandoned (KSeF closes it when validUntil passes) and a new one opened.
//
// A batch session is processed only once closed; one whose close was never
// sent (a part upload failed, OnOpen refused it) is cancelled by KSeF when
// its upload window (20 minutes per part) ends, so its invoices can be sent
// again at once. A close without an answer (timeout, dropped connection,
// 5xx) may still have reached KSeF: SendBatch cannot tell, MayProcess says
// so, and only SessionStatus (open, processing, or final with its invoice
// list) settles it. SendBatch never repeats the close on its own.
//
// The package never logs secrets: KSeF tokens, bearer tokens and keys are
// redacted from String, GoString and slog output, and errors never quote them.
// The Latarnia feed is known only from the official C# client, not from the
// docs; treat its absence as "unknown", not as an outage.
package ksefapi
