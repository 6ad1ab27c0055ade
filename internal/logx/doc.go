// Package logx builds posagent's *slog.Logger: text for a person at a terminal,
// JSON for the journal, and no secrets in either.
//
// # Concepts
//
// [New] picks the format ([FormatAuto] chooses JSON when running under systemd —
// JOURNAL_STREAM or INVOCATION_ID is set — or when the output is not a terminal)
// and the level (LOG_LEVEL, when set and valid, overrides [Options.Level]).
// Every attribute and the message pass through [Redact], which replaces
//
//   - the value of any attribute whose key looks secret (token, passphrase,
//     password, secret, authorization, key, private key …), and
//   - PEM blocks, "Bearer …" credentials and JWTs found inside any string,
//     error or Stringer value, and inside the message itself.
//
// # Caveats
//
// Redaction is a safety net, not a licence: code must still not log secrets on
// purpose. A secret under an innocent key in a non-recognisable format (say, a
// bare KSeF token logged as "value") cannot be detected.
package logx
