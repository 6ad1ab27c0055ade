package soak_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/posagent/posagent/internal/soak"
)

func TestCheckDemo(t *testing.T) {
	tests := []struct {
		name    string
		json    string // written to a temp demo.json; empty means testdata/<name>
		wantErr error
		wantN   int
	}{
		{name: "demo-ok", wantN: 2},
		{name: "demo-rejected", wantErr: soak.ErrDemo},
		{name: "empty", json: `{"invoices": []}`, wantErr: soak.ErrDemo},
		{name: "not-json", json: `{`, wantErr: soak.ErrDemo},
		{name: "duplicate-number", json: `{"invoices": [
			{"number":"A","kod1":"k","ksef_number":"1","state":"accepted"},
			{"number":"A","kod1":"k","ksef_number":"2","state":"accepted"}]}`, wantErr: soak.ErrDemo},
		{name: "duplicate-ksef-number", json: `{"invoices": [
			{"number":"A","kod1":"k","ksef_number":"1","state":"accepted"},
			{"number":"B","kod1":"k","ksef_number":"1","state":"accepted"}]}`, wantErr: soak.ErrDemo},
		{name: "missing-file", json: `{"invoices": [
			{"number":"A","file":"nope.xml","kod1":"k","ksef_number":"1","state":"accepted"}]}`, wantErr: os.ErrNotExist},
		{name: "no-kod1", json: `{"invoices": [
			{"number":"A","ksef_number":"1","state":"accepted"}]}`, wantErr: soak.ErrDemo},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join("testdata", tt.name, "demo.json")
			if tt.json != "" {
				path = filepath.Join(t.TempDir(), "demo.json")
				if err := os.WriteFile(path, []byte(tt.json), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			r, err := soak.CheckDemo(path)
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("CheckDemo() error = %v, want %v", err, tt.wantErr)
			}
			if err == nil && len(r.Invoices) != tt.wantN {
				t.Errorf("CheckDemo() invoices = %d, want %d", len(r.Invoices), tt.wantN)
			}
		})
	}
}
