package soak_test

import (
	"errors"
	"fmt"

	"github.com/posagent/posagent/internal/soak"
)

func ExampleScanSecrets() {
	secrets := map[string]string{"KSeF token": "ksef-token-0123456789"}
	clean := `{"level":"INFO","msg":"ksef authenticated","method":"token"}`
	leaky := `{"level":"DEBUG","msg":"auth","body":"{\"token\":\"ksef-token-0123456789\"}"}`

	fmt.Println(soak.ScanSecrets(clean, secrets))
	err := soak.ScanSecrets(leaky, secrets)
	fmt.Println(errors.Is(err, soak.ErrSecretLeak), err)
	// Output:
	// <nil>
	// true soak: secret found in logs: KSeF token at offset 51
}
