package ksef_test

import (
	"crypto/sha256"
	"encoding/base64"
)

func sha256Sum(s string) []byte { h := sha256.Sum256([]byte(s)); return h[:] }

func b64url(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
