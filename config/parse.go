package config

import (
	"encoding"
	"errors"
	"fmt"
	"os"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// Load reads and parses the configuration file at path.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: read %s: %w", path, err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("config %s: %w", path, err)
	}
	return c, nil
}

// Parse decodes a configuration over [Default] and validates it. A TOML syntax
// error wraps [ErrSyntax]; every other problem is reported at once as [Errors],
// except that values of the wrong TOML type (a string for a number, say) are
// reported on their own, because the rest cannot be decoded past them.
func Parse(data []byte) (*Config, error) {
	var raw map[string]any
	if _, err := toml.Decode(string(data), &raw); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	// Check shapes first so a wrong type or an unknown key is reported with its
	// key and what is allowed, rather than as the decoder's first complaint.
	var errs Errors
	checkTable("", raw, reflect.TypeFor[Config](), &errs)
	for _, e := range errs {
		if errors.Is(e, ErrInvalid) {
			return nil, errs // a wrong type would stop the decoder anyway
		}
	}
	// Unknown keys do not stop decoding: report them with every other problem.
	c := Default()
	md, err := toml.Decode(string(data), c)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrSyntax, err)
	}
	if len(errs) == 0 {
		// checkTable has already named each unknown key with its siblings;
		// Undecoded is the decoder's own account, kept as a second net.
		for _, k := range md.Undecoded() {
			errs = append(errs, unknownKey(k.String(), nil))
		}
	}
	if h := c.Policy.B2BOfflineHandover; h != nil {
		// The deprecated bool, read for one release (Deprecations warns).
		if p, _ := raw["policy"].(map[string]any); p != nil && p["b2b_offline"] != nil {
			errs = append(errs, &FieldError{Key: "policy.b2b_offline_handover", Value: fmt.Sprint(*h), Err: ErrInvalid,
				Allowed: "left out: it is deprecated, and policy.b2b_offline is set"})
		} else {
			c.Policy.B2BOffline = handoverPolicy(*h)
		}
	}
	if c.KSeF.ContextValue == "" && c.KSeF.ContextType == "Nip" {
		c.KSeF.ContextValue = c.Seller.NIP
	}
	if err := c.Validate(); err != nil {
		errs = append(errs, err.(Errors)...)
	}
	if len(errs) > 0 {
		return nil, errs
	}
	return c, nil
}

var textUnmarshaler = reflect.TypeFor[encoding.TextUnmarshaler]()

// checkTable compares one TOML table with the struct it decodes into.
func checkTable(prefix string, raw map[string]any, t reflect.Type, errs *Errors) {
	known := make(map[string]reflect.StructField, t.NumField())
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		known[name] = f
		names = append(names, name)
	}
	for _, name := range names {
		v, ok := raw[name]
		if !ok {
			continue
		}
		checkValue(prefix+name, v, known[name].Type, errs)
	}
	var unknown []string
	for k := range raw {
		if _, ok := known[k]; !ok {
			unknown = append(unknown, k)
		}
	}
	slices.Sort(unknown)
	for _, k := range unknown {
		*errs = append(*errs, unknownKey(prefix+k, names))
	}
}

func checkValue(key string, v any, t reflect.Type, errs *Errors) {
	bad := func(allowed string) {
		*errs = append(*errs, &FieldError{Key: key, Value: describe(v), Allowed: allowed, Err: ErrInvalid})
	}
	if reflect.PointerTo(t).Implements(textUnmarshaler) {
		s, ok := textOf(v)
		if !ok {
			bad("a string")
			return
		}
		if err := reflect.New(t).Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(s)); err != nil {
			var ve *valueError
			if errors.As(err, &ve) {
				bad(ve.allowed)
			} else {
				bad(err.Error())
			}
		}
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			bad("a table [" + key + "]")
			return
		}
		checkTable(key+".", m, t, errs)
	case reflect.Pointer:
		checkValue(key, v, t.Elem(), errs)
	case reflect.Slice:
		list, ok := v.([]any)
		if !ok {
			bad("a list [ … ]")
			return
		}
		for i, item := range list {
			checkValue(key+"["+strconv.Itoa(i)+"]", item, t.Elem(), errs)
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			bad("a string")
		}
	case reflect.Int:
		if _, ok := v.(int64); !ok {
			bad("a whole number")
		}
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			bad("true or false")
		}
	}
}

// textOf converts a raw TOML value the way the decoder hands it to UnmarshalText.
func textOf(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case int64:
		return strconv.FormatInt(x, 10), true
	case time.Time:
		b, err := x.MarshalText()
		return string(b), err == nil
	}
	return "", false
}

// describe renders a raw value for an error message: strings quoted, tables and
// lists summarised, never more than a short line.
func describe(v any) string {
	switch x := v.(type) {
	case string:
		if len(x) > 64 {
			x = x[:64] + "…"
		}
		return strconv.Quote(x)
	case map[string]any:
		return "a table"
	case []any:
		return "a list"
	case time.Time:
		return x.Format(time.RFC3339)
	}
	return fmt.Sprint(v)
}

// secretKeys are key names that would hold a secret; they get an explanation
// instead of "unknown key".
var secretKeys = []string{"token", "ksef_token", "till_token", "passphrase", "key_passphrase", "password", "secret", "api_key", "bearer"}

func unknownKey(key string, siblings []string) *FieldError {
	table, name := "", key
	if i := strings.LastIndexByte(key, '.'); i >= 0 {
		table, name = key[:i], key[i+1:]
	}
	if slices.Contains(secretKeys, strings.ToLower(name)) {
		how := "ksef.token_file or the environment variable " + EnvKSeFToken
		switch {
		case strings.Contains(name, "pass") || table == "certs":
			how = "certs.passphrase_file or the environment variable " + EnvKeyPassphrase
		case table == "till" || name == "till_token":
			how = "till.token_file or the environment variable " + EnvTillToken
		case table == "metrics":
			how = "metrics.token_file or the environment variable " + EnvMetricsToken
		}
		return &FieldError{Key: key, Err: ErrSecretInFile,
			Allowed: "secrets are never read from the configuration file; use " + how + " (a file readable only by its owner)"}
	}
	allowed := "unknown key"
	if len(siblings) > 0 {
		where := "[" + table + "]"
		if table == "" {
			where = "the top level"
		}
		allowed += "; " + where + " accepts " + strings.Join(siblings, ", ")
	}
	return &FieldError{Key: key, Err: ErrUnknownKey, Allowed: allowed}
}
