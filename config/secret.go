package config

import (
	"fmt"
	"io"
	"os"
	"runtime"
	"strings"
)

// Secret names a secret that [Config.Secret] can provide.
type Secret string

// The secrets posagent uses.
const (
	SecretKSeFToken     Secret = "ksef-token"     // KSeF authorisation token
	SecretTillToken     Secret = "till-token"     // bearer token of the till API
	SecretKeyPassphrase Secret = "key-passphrase" // passphrase of the stored private keys
	SecretMetricsToken  Secret = "metrics-token"  // bearer token of the metrics listener
)

// Environment variables that provide secrets; they win over the files.
const (
	EnvKSeFToken     = "POSAGENT_KSEF_TOKEN"
	EnvTillToken     = "POSAGENT_TILL_TOKEN"
	EnvKeyPassphrase = "POSAGENT_KEY_PASSPHRASE"
	EnvMetricsToken  = "POSAGENT_METRICS_TOKEN"
)

// maxSecretSize bounds a secret file so a wrong path (a log, a disk image) is
// refused rather than read into memory.
const maxSecretSize = 64 << 10

// Secret returns the named secret from its environment variable or, when that
// is unset or empty, from the file the configuration names. The file must be a
// regular file that neither its group nor other users can read (mode 0600 or
// 0400). One trailing line break is removed. Errors are [*SecretError] and never
// contain the secret.
func (c *Config) Secret(name Secret) (string, error) {
	var env, file string
	switch name {
	case SecretKSeFToken:
		env, file = EnvKSeFToken, c.KSeF.TokenFile
	case SecretTillToken:
		env, file = EnvTillToken, c.Till.TokenFile
	case SecretKeyPassphrase:
		env, file = EnvKeyPassphrase, c.Certs.PassphraseFile
	case SecretMetricsToken:
		env, file = EnvMetricsToken, c.Metrics.TokenFile
	default:
		return "", &SecretError{Name: name, Err: ErrUnknownSecret}
	}
	if v := os.Getenv(env); v != "" {
		return v, nil
	}
	if file == "" {
		return "", &SecretError{Name: name, Source: env, Err: ErrNoSecret}
	}
	v, err := readSecretFile(file)
	if err != nil {
		return "", &SecretError{Name: name, Source: file, Err: err}
	}
	return v, nil
}

func readSecretFile(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	// Stat the open file, not the path, so the checked file is the one read.
	st, err := f.Stat()
	if err != nil {
		return "", err
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("%w: not a regular file", ErrInsecureSecretFile)
	}
	if runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
		return "", fmt.Errorf("%w: mode %04o lets group or others read it; run chmod 600", ErrInsecureSecretFile, st.Mode().Perm())
	}
	b, err := io.ReadAll(io.LimitReader(f, maxSecretSize+1))
	if err != nil {
		return "", err
	}
	if len(b) > maxSecretSize {
		return "", ErrSecretTooLarge
	}
	s := strings.TrimSuffix(strings.TrimSuffix(string(b), "\n"), "\r")
	if s == "" {
		return "", ErrEmptySecret
	}
	return s, nil
}
