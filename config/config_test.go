package config_test

import (
	"bytes"
	"errors"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/BurntSushi/toml"
	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/internal/testutil"
)

// base is the smallest valid configuration, as dotted key → TOML literal.
var base = map[string]string{
	"seller.nip":           `"5265877635"`,
	"seller.name":          `"Sklep"`,
	"seller.address_line1": `"ul. Prosta 1"`,
	"terminal.id":          `"KASA01"`,
	"ksef.environment":     `"test"`,
	"printer.port":         `"virtual"`,
}

// build renders base with overrides applied; an override of "" removes the key.
func build(overrides map[string]string) []byte {
	kv := maps.Clone(base)
	for k, v := range overrides {
		if v == "" {
			delete(kv, k)
		} else {
			kv[k] = v
		}
	}
	tables := map[string][]string{}
	for k, v := range kv {
		table, key, _ := strings.Cut(k, ".")
		tables[table] = append(tables[table], key+" = "+v)
	}
	var b bytes.Buffer
	for _, t := range slices.Sorted(maps.Keys(tables)) {
		lines := tables[t]
		slices.Sort(lines)
		b.WriteString("[" + t + "]\n" + strings.Join(lines, "\n") + "\n")
	}
	return b.Bytes()
}

func TestParseMinimalDefaults(t *testing.T) {
	c, err := config.Parse(build(nil))
	if err != nil {
		t.Fatalf("Parse(minimal) error: %v", err)
	}
	want := config.Default()
	want.Seller = config.Seller{NIP: "5265877635", Name: "Sklep", AddressLine1: "ul. Prosta 1", Country: "PL"}
	want.Terminal.ID = "KASA01"
	want.KSeF.Environment = "test"
	want.KSeF.ContextValue = "5265877635" // defaults to seller.nip
	want.Printer.Port = "virtual"
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Parse(minimal) =\n%+v\nwant\n%+v", c, want)
	}
	if got, want := c.Policy.OnlineBudget.D(), 3*time.Second; got != want {
		t.Errorf("online_budget = %v, want %v", got, want)
	}
	if got, want := c.Till.MaxBody, config.Size(1<<20); got != want {
		t.Errorf("max_body = %d, want %d", got, want)
	}
}

func TestLoadExampleFile(t *testing.T) {
	path := filepath.Join(testutil.RepoRoot(), "posagent.example.toml")
	c, err := config.Load(path)
	if err != nil {
		t.Fatalf("Load(%s): %v", path, err)
	}
	if got, want := c.Printer.Port, "/dev/ttyUSB0"; got != want {
		t.Errorf("printer.port = %q, want %q", got, want)
	}
	if got, want := c.KSeF.ContextValue, c.Seller.NIP; got != want {
		t.Errorf("ksef.context_value = %q, want seller nip %q", got, want)
	}
	// Every key of the Config must be documented in the example, set or commented.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range allKeys(reflect.TypeFor[config.Config]()) {
		_, name, _ := strings.Cut(key, ".")
		if !bytes.Contains(data, []byte("\n"+name+" = ")) && !bytes.Contains(data, []byte("\n# "+name+" = ")) {
			t.Errorf("posagent.example.toml does not document %s", key)
		}
	}
}

func allKeys(t reflect.Type) []string {
	var keys []string
	for i := range t.NumField() {
		table, _, _ := strings.Cut(t.Field(i).Tag.Get("toml"), ",")
		ft := t.Field(i).Type
		for j := range ft.NumField() {
			name, _, _ := strings.Cut(ft.Field(j).Tag.Get("toml"), ",")
			keys = append(keys, table+"."+name)
		}
	}
	return keys
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]string
		extra     string // appended verbatim
		wantKey   string
		wantErr   error
		wantMsg   string
	}{
		{"handshake", map[string]string{"printer.handshake": `"rtscts"`}, "", "printer.handshake", config.ErrInvalid,
			`printer.handshake: "rtscts" is not one of dtrdsr, xonxoff, none`},
		{"baud", map[string]string{"printer.baud": `12345`}, "", "printer.baud", config.ErrInvalid,
			`printer.baud: 12345 is not one of 1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200, 230400`},
		{"baud type", map[string]string{"printer.baud": `"fast"`}, "", "printer.baud", config.ErrInvalid,
			`printer.baud: "fast" is not a whole number`},
		{"paper", map[string]string{"printer.paper": `57`}, "", "printer.paper", config.ErrInvalid,
			`printer.paper: 57 is not one of 58, 80`},
		{"qr", map[string]string{"printer.qr": `"svg"`}, "", "printer.qr", config.ErrInvalid,
			`printer.qr: "svg" is not one of native, raster, auto`},
		{"port", map[string]string{"printer.port": `"lpt1"`}, "", "printer.port", config.ErrInvalid,
			`printer.port: "lpt1" is not a device path (/dev/ttyUSB0, COM3), "tcp://host:port", "file:/absolute/path" or "virtual"`},
		{"tcp port without port", map[string]string{"printer.port": `"tcp://10.0.0.5"`}, "", "printer.port", config.ErrInvalid, ""},
		{"file port relative", map[string]string{"printer.port": `"file:out.bin"`}, "", "printer.port", config.ErrInvalid, ""},
		{"nip checksum", map[string]string{"seller.nip": `"5265877636"`}, "", "seller.nip", config.ErrInvalid,
			`seller.nip: "5265877636" is not a valid NIP (10 digits, no dashes, not starting with 0, with a correct check digit)`},
		{"nip leading zero", map[string]string{"seller.nip": `"0123456789"`}, "", "seller.nip", config.ErrInvalid, ""},
		{"nip 00 in digits 2-3", map[string]string{"seller.nip": `"1003456787"`}, "", "seller.nip", config.ErrInvalid, ""},
		{"nip dashes", map[string]string{"seller.nip": `"526-587-76-35"`}, "", "seller.nip", config.ErrInvalid, ""},
		{"nip missing", map[string]string{"seller.nip": ""}, "", "seller.nip", config.ErrMissing,
			`seller.nip: missing; it must be a 10-digit NIP`},
		{"environment", map[string]string{"ksef.environment": `"production"`}, "", "ksef.environment", config.ErrInvalid,
			`ksef.environment: "production" is not one of test, demo, prod`},
		{"environment missing", map[string]string{"ksef.environment": ""}, "", "ksef.environment", config.ErrMissing, ""},
		{"ksef url http remote", map[string]string{"ksef.url": `"http://ksef.example.com/v2"`}, "", "ksef.url", config.ErrInvalid, ""},
		{"context internal id", map[string]string{"ksef.context_type": `"InternalId"`, "ksef.context_value": `"5265877635"`}, "", "ksef.context_value", config.ErrInvalid, ""},
		{"context type", map[string]string{"ksef.context_type": `"nip"`}, "", "ksef.context_type", config.ErrInvalid,
			`ksef.context_type: "nip" is not one of Nip, InternalId, NipVatUe`},
		{"unknown key", map[string]string{"printer.handshak": `"none"`}, "", "printer.handshak", config.ErrUnknownKey,
			`printer.handshak: unknown key; [printer] accepts port, baud, data_bits, parity, stop_bits, handshake, profile, paper, qr, codepage, print_on_acceptance, reprint_window`},
		{"unknown table", nil, "[printers]\nport = \"virtual\"\n", "printers", config.ErrUnknownKey, ""},
		{"ksef token in file", map[string]string{"ksef.token": `"abc"`}, "", "ksef.token", config.ErrSecretInFile,
			`ksef.token: secrets are never read from the configuration file; use ksef.token_file or the environment variable POSAGENT_KSEF_TOKEN (a file readable only by its owner)`},
		{"till token in file", map[string]string{"till.token": `"abc"`}, "", "till.token", config.ErrSecretInFile, ""},
		{"passphrase in file", map[string]string{"certs.passphrase": `"abc"`}, "", "certs.passphrase", config.ErrSecretInFile, ""},
		{"duration syntax", map[string]string{"policy.online_budget": `"3 seconds"`}, "", "policy.online_budget", config.ErrInvalid,
			`policy.online_budget: "3 seconds" is not a duration such as "3s", "500ms" or "1m30s"`},
		{"duration range", map[string]string{"policy.online_budget": `"2m"`}, "", "policy.online_budget", config.ErrInvalid,
			`policy.online_budget: "2m0s" is not a duration between 100ms and 30s`},
		{"duration as number", map[string]string{"ksef.timeout": `30`}, "", "ksef.timeout", config.ErrInvalid, ""},
		{"reprint window range", map[string]string{"printer.reprint_window": `"0s"`}, "", "printer.reprint_window", config.ErrInvalid,
			`printer.reprint_window: "0s" is not a duration between 1s and 1h0m0s`},
		{"mode", map[string]string{"policy.mode": `"online"`}, "", "policy.mode", config.ErrInvalid, ""},
		{"reset", map[string]string{"terminal.reset": `"daily"`}, "", "terminal.reset", config.ErrInvalid, ""},
		{"numbering without seq", map[string]string{"terminal.numbering": `"{terminal}/{yyyy}/{mm}"`}, "", "terminal.numbering", config.ErrInvalid, ""},
		{"numbering unknown placeholder", map[string]string{"terminal.numbering": `"{store}/{yyyy}/{mm}/{seq}"`}, "", "terminal.numbering", config.ErrInvalid, ""},
		{"numbering not unique monthly", map[string]string{"terminal.numbering": `"{terminal}/{seq:06}"`}, "", "terminal.numbering", config.ErrInvalid, ""},
		{"listen non-loopback without token", map[string]string{"till.listen": `"0.0.0.0:8080"`}, "", "till.token_file", config.ErrMissing,
			`till.token_file: missing; it must be set when till.listen (0.0.0.0:8080) is not a loopback address, so that the API requires a bearer token`},
		{"listen bad", map[string]string{"till.listen": `"8080"`}, "", "till.listen", config.ErrInvalid, ""},
		{"max body", map[string]string{"till.max_body": `"100MiB"`}, "", "till.max_body", config.ErrInvalid,
			`till.max_body: 100MiB is not a size between 1KiB and 64MiB`},
		{"cap too large for 32-bit", map[string]string{"store.cap_mb": `4096`}, "", "store.cap_mb", config.ErrInvalid,
			`store.cap_mb: 4096 is not between 16 and 1536`},
		{"store dir relative", map[string]string{"store.dir": `"data"`}, "", "store.dir", config.ErrInvalid,
			`store.dir: "data" is not an absolute path`},
		{"calendar date", map[string]string{"calendar.add": `["2026-02-30"]`}, "", "calendar.add[0]", config.ErrInvalid,
			`calendar.add[0]: "2026-02-30" is not a date YYYY-MM-DD between 2000 and 2199`},
		{"calendar both lists", map[string]string{"calendar.add": `[2026-12-31]`, "calendar.remove": `["2026-12-31"]`}, "", "calendar.add[0]", config.ErrInvalid, ""},
		{"log level", map[string]string{"log.level": `"verbose"`}, "", "log.level", config.ErrInvalid, ""},
		{"codepage", map[string]string{"printer.codepage": `300`}, "", "printer.codepage", config.ErrInvalid, ""},
		{"table as value", map[string]string{}, "log = 3\n", "log", config.ErrInvalid, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data := build(tt.overrides)
			if tt.extra != "" {
				// a top-level key must precede the first table
				data = append([]byte(tt.extra), data...)
			}
			c, err := config.Parse(data)
			if err == nil {
				t.Fatalf("Parse() = %+v, nil; want error on %s", c, tt.wantKey)
			}
			if c != nil {
				t.Errorf("Parse() returned a config along with the error")
			}
			if !errors.Is(err, tt.wantErr) {
				t.Errorf("Parse() error = %v, want errors.Is %v", err, tt.wantErr)
			}
			var es config.Errors
			if !errors.As(err, &es) || len(es) != 1 {
				t.Fatalf("Parse() error = %#v, want config.Errors with one FieldError", err)
			}
			if got := es[0].Key; got != tt.wantKey {
				t.Errorf("FieldError.Key = %q, want %q", got, tt.wantKey)
			}
			if tt.wantMsg != "" && es[0].Error() != tt.wantMsg {
				t.Errorf("Error() =\n%s\nwant\n%s", es[0].Error(), tt.wantMsg)
			}
		})
	}
}

func TestParseCollectsAllErrors(t *testing.T) {
	_, err := config.Parse(build(map[string]string{
		"printer.paper": `57`, "log.format": `"xml"`, "seller.nip": `"123"`,
	}))
	var es config.Errors
	if !errors.As(err, &es) {
		t.Fatalf("Parse() error = %v, want config.Errors", err)
	}
	var keys []string
	for _, e := range es {
		keys = append(keys, e.Key)
	}
	if want := []string{"seller.nip", "printer.paper", "log.format"}; !slices.Equal(keys, want) {
		t.Errorf("error keys = %v, want %v", keys, want)
	}
	var fe *config.FieldError
	if !errors.As(err, &fe) || fe.Key != "seller.nip" {
		t.Errorf("errors.As(*FieldError) = %v, want the seller.nip error", fe)
	}
}

func TestParseSyntaxError(t *testing.T) {
	_, err := config.Parse([]byte("[seller\nnip = 1"))
	if !errors.Is(err, config.ErrSyntax) {
		t.Errorf("Parse(broken) error = %v, want ErrSyntax", err)
	}
}

func TestParseAccepts(t *testing.T) {
	tests := []struct {
		name      string
		overrides map[string]string
		check     func(*config.Config) bool
	}{
		{"tcp port", map[string]string{"printer.port": `"tcp://192.168.1.50:9100"`}, func(c *config.Config) bool { return c.Printer.Port == "tcp://192.168.1.50:9100" }},
		{"com port", map[string]string{"printer.port": `"COM3"`}, func(c *config.Config) bool { return c.Printer.Port == "COM3" }},
		{"listen remote with token", map[string]string{"till.listen": `"0.0.0.0:8080"`, "till.token_file": `"/etc/posagent/till-token"`}, func(c *config.Config) bool { return c.Till.TokenFile != "" }},
		{"listen ipv6 loopback", map[string]string{"till.listen": `"[::1]:8080"`}, func(c *config.Config) bool { return true }},
		{"size integer", map[string]string{"till.max_body": `65536`}, func(c *config.Config) bool { return c.Till.MaxBody == 65536 }},
		{"local dates", map[string]string{"calendar.add": `[2026-11-02, "2026-12-31"]`}, func(c *config.Config) bool {
			return slices.Equal(c.Calendar.Add, []config.Date{{2026, time.November, 2}, {2026, time.December, 31}})
		}},
		{"internal id", map[string]string{"ksef.context_type": `"InternalId"`, "ksef.context_value": `"5265877635-00001"`}, func(c *config.Config) bool { return c.KSeF.ContextValue == "5265877635-00001" }},
		{"simulator url", map[string]string{"ksef.url": `"http://127.0.0.1:9999/v2"`}, func(c *config.Config) bool { return c.KSeF.URL != "" }},
		{"codepage", map[string]string{"printer.codepage": `18`}, func(c *config.Config) bool { return c.Printer.Codepage != nil && *c.Printer.Codepage == 18 }},
		{"yearly", map[string]string{"terminal.reset": `"yearly"`, "terminal.numbering": `"FV/{yy}/{seq}"`}, func(c *config.Config) bool { return c.Terminal.Reset == "yearly" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := config.Parse(build(tt.overrides))
			if err != nil {
				t.Fatalf("Parse() error: %v", err)
			}
			if !tt.check(c) {
				t.Errorf("Parse() = %+v, check failed", c)
			}
		})
	}
}

// roundTrip encodes c as TOML and parses it back.
func roundTrip(t testing.TB, c *config.Config) *config.Config {
	t.Helper()
	var b bytes.Buffer
	if err := toml.NewEncoder(&b).Encode(c); err != nil {
		t.Fatalf("encode: %v", err)
	}
	back, err := config.Parse(b.Bytes())
	if err != nil {
		t.Fatalf("Parse(encoded) error: %v\n%s", err, b.Bytes())
	}
	return back
}

func TestRoundTrip(t *testing.T) {
	c, err := config.Load(filepath.Join(testutil.RepoRoot(), "posagent.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	cp := 18
	c.Printer.Codepage = &cp
	c.Calendar.Add = []config.Date{{2026, time.November, 2}}
	c.Calendar.Remove = []config.Date{{2026, time.December, 24}}
	c.Till.MaxBody = 1536
	c.Policy.OnlineBudget = config.Duration(1500 * time.Millisecond)
	if got := roundTrip(t, c); !reflect.DeepEqual(got, c) {
		t.Errorf("round trip =\n%+v\nwant\n%+v", got, c)
	}
}

// TestDefaultRetention pins the retention that keeps a busy terminal's live
// store under its size budget (500 invoices/day × 30 days × ~8 KiB).
func TestDefaultRetention(t *testing.T) {
	if got, want := config.Default().Store.RetentionDays, 30; got != want {
		t.Errorf("Default().Store.RetentionDays = %d, want %d", got, want)
	}
}

// TestDefaultReprintWindow pins printer.reprint_window's default of issue 16:
// two minutes, while the customer may still be at the till.
func TestDefaultReprintWindow(t *testing.T) {
	if got, want := config.Default().Printer.ReprintWindow.D(), 2*time.Minute; got != want {
		t.Errorf("Default().Printer.ReprintWindow = %v, want %v", got, want)
	}
}
