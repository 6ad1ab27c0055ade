package soak_test

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"strings"
	"testing"

	"github.com/posagent/posagent/certstore"
	"github.com/posagent/posagent/certstore/certstoretest"
	"github.com/posagent/posagent/internal/soak"
)

func TestScanSecrets(t *testing.T) {
	for _, kt := range []certstore.KeyType{certstore.KeyEC, certstore.KeyRSA} {
		t.Run(string(kt), func(t *testing.T) {
			_, keyPEM := certstoretest.Generate(t, certstore.Offline, kt)
			forms, err := soak.KeyForms(keyPEM)
			if err != nil {
				t.Fatal(err)
			}
			forms["KSeF token"] = "ksef-token-0123456789"
			blk, _ := pem.Decode(keyPEM)
			der := blk.Bytes
			logLine := `{"level":"INFO","msg":"sent","invoice":"FV/1"}` + "\n"
			tests := []struct {
				name    string
				text    string
				wantErr error
			}{
				{"clean", strings.Repeat(logLine, 50), nil},
				{"pem", logLine + string(keyPEM), soak.ErrSecretLeak},
				{"pem-armour-only", "-----BEGIN EC PRIVATE KEY-----", soak.ErrSecretLeak},
				{"der-base64", logLine + "key=" + base64.StdEncoding.EncodeToString(der), soak.ErrSecretLeak},
				{"der-hex", "key=" + hex.EncodeToString(der), soak.ErrSecretLeak},
				{"der-hex-upper", "key=" + strings.ToUpper(hex.EncodeToString(der)), soak.ErrSecretLeak},
				{"token", `{"msg":"auth","token":"ksef-token-0123456789"}`, soak.ErrSecretLeak},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					err := soak.ScanSecrets(tt.text, forms)
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("ScanSecrets() = %v, want %v", err, tt.wantErr)
					}
					if err != nil && strings.Contains(err.Error(), forms["KSeF token"]) {
						t.Errorf("ScanSecrets error %q repeats the secret", err)
					}
				})
			}
		})
	}
}

func TestScanSecretsShortSecret(t *testing.T) {
	if err := soak.ScanSecrets("anything", map[string]string{"pin": "1234"}); err == nil {
		t.Fatal("ScanSecrets accepted a 4-character secret, which would match noise")
	}
}
