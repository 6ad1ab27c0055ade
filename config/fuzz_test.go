package config_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/internal/testutil"
)

// FuzzParse checks that Parse never panics, never returns both a config and an
// error, and that whatever it accepts survives an encode → parse round trip.
func FuzzParse(f *testing.F) {
	example, err := os.ReadFile(filepath.Join(testutil.RepoRoot(), "posagent.example.toml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(example)
	f.Add(build(nil))
	f.Add(build(map[string]string{"printer.handshake": `"rtscts"`, "calendar.add": `[2026-11-02]`}))
	f.Add(build(map[string]string{"ksef.token": `"x"`, "till.max_body": `"2MiB"`}))
	f.Add([]byte("[seller\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := config.Parse(data)
		if err != nil {
			if c != nil {
				t.Fatalf("Parse returned a config with error %v", err)
			}
			if err.Error() == "" {
				t.Fatal("empty error message")
			}
			return
		}
		if got := roundTrip(t, c); !reflect.DeepEqual(got, c) {
			t.Fatalf("round trip =\n%+v\nwant\n%+v", got, c)
		}
	})
}
