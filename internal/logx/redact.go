package logx

import (
	"fmt"
	"log/slog"
	"regexp"
	"strings"
)

// Redacted replaces a secret value.
const Redacted = "[REDACTED]"

// secretWords are substrings of attribute keys whose values are never logged.
var secretWords = []string{"token", "passphrase", "password", "passwd", "secret", "authorization", "credential", "cookie", "privatekey", "private_key"}

// publicKeys are keys containing "key" that name identifiers, not key material.
var publicKeys = map[string]bool{
	"idempotency_key": true, "idempotencykey": true, "public_key": true, "publickey": true,
	"key_id": true, "keyid": true, "public_key_id": true, "publickeyid": true,
}

var (
	pemRe    = regexp.MustCompile(`-----BEGIN [A-Z0-9 ]+-----(?s:.*?)(?:-----END [A-Z0-9 ]+-----|$)`)
	bearerRe = regexp.MustCompile(`(?i)\b(bearer)\s+[A-Za-z0-9\-._~+/]+=*`)
	jwtRe    = regexp.MustCompile(`\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*`)
)

// SecretKey reports whether an attribute key looks like it holds a secret.
func SecretKey(key string) bool {
	k := strings.ToLower(key)
	if publicKeys[k] {
		return false
	}
	for _, w := range secretWords {
		if strings.Contains(k, w) {
			return true
		}
	}
	return k == "key" || strings.HasSuffix(k, "_key") || strings.HasSuffix(k, "-key") || strings.HasSuffix(k, "apikey")
}

// Scrub replaces PEM blocks, Bearer credentials and JWTs inside s. It errs on
// the side of hiding: "bearer token" in prose becomes "bearer [REDACTED]".
func Scrub(s string) string {
	if !strings.Contains(s, "-----BEGIN") && !strings.Contains(s, "eyJ") && !containsFold(s, "bearer") {
		return s // the common case: no regexp work
	}
	s = pemRe.ReplaceAllString(s, "[REDACTED PEM]")
	s = bearerRe.ReplaceAllString(s, "$1 "+Redacted)
	return jwtRe.ReplaceAllString(s, Redacted)
}

func containsFold(s, sub string) bool { return strings.Contains(strings.ToLower(s), sub) }

// Redact is a slog ReplaceAttr function: it hides the values of secret-looking
// keys and scrubs credentials out of strings, errors and Stringers (the message
// included). Byte slices under any key are shown only by length, because raw
// bytes are often key material.
func Redact(groups []string, a slog.Attr) slog.Attr {
	if a.Value.Kind() == slog.KindGroup {
		return a
	}
	if len(groups) == 0 && (a.Key == slog.TimeKey || a.Key == slog.LevelKey || a.Key == slog.SourceKey) {
		return a
	}
	if SecretKey(a.Key) {
		return slog.String(a.Key, Redacted)
	}
	switch a.Value.Kind() {
	case slog.KindString:
		if s := a.Value.String(); Scrub(s) != s {
			return slog.String(a.Key, Scrub(s))
		}
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case []byte:
			return slog.String(a.Key, fmt.Sprintf("[%d bytes]", len(v)))
		case error:
			if s := v.Error(); Scrub(s) != s {
				return slog.String(a.Key, Scrub(s))
			}
		case fmt.Stringer:
			if s := v.String(); Scrub(s) != s {
				return slog.String(a.Key, Scrub(s))
			}
		}
	}
	return a
}
