package svcunit

import (
	"errors"
	"strings"
	"testing"
)

// kardianosKeys are the keys kardianos/service v1.3.0's systemd Install passes
// to a SystemdScript (service_systemd_linux.go). Template must use no others.
var kardianosKeys = []string{
	"Description", "Path", "Name", "Dependencies", "Arguments", "ChRoot", "WorkingDirectory",
	"UserName", "ReloadSignal", "PIDFile", "LogDirectory", "OutputFileSupport", "LimitNOFILE",
	"Restart", "SuccessExitStatus", "EnvVars",
}

func TestTemplateUsesOnlyKardianosKeys(t *testing.T) {
	data := map[string]any{}
	for _, k := range kardianosKeys {
		data[k] = "x"
	}
	for _, k := range []string{"Dependencies", "Arguments", "EnvVars"} {
		data[k] = []string{"a", "b"}
	}
	if _, err := render(Template, data); err != nil {
		t.Fatalf("Template with kardianos's keys: %v", err)
	}
	// And the data Render builds has exactly those keys.
	d, err := Params{}.data()
	if err != nil {
		t.Fatal(err)
	}
	if len(d) != len(kardianosKeys) {
		t.Errorf("Render data has %d keys, kardianos passes %d", len(d), len(kardianosKeys))
	}
	for _, k := range kardianosKeys {
		if _, ok := d[k]; !ok {
			t.Errorf("Render data lacks key %s", k)
		}
	}
}

func TestEngine(t *testing.T) {
	data := map[string]any{"A": "a b", "E": "", "L": []string{"x", `y"z`}, "N": []string(nil)}
	tests := []struct {
		tmpl, want string
		wantErr    bool
	}{
		{tmpl: "v={{A}}", want: "v=a b"},
		{tmpl: "v={{ A | cmdEscape }}", want: `v=a\x20b`},
		{tmpl: "v={{A | cmd}}", want: `v="a b"`},
		{tmpl: "v={{A | cmd | cmdEscape}}", want: `v="a\x20b"`},
		{tmpl: "{{if A}}yes{{end}}", want: "yes"},
		{tmpl: "{{if E}}yes{{else}}no{{end}}", want: "no"},
		{tmpl: "{{if N}}yes{{else}}no{{end}}", want: "no"},
		{tmpl: "{{if L}}yes{{end}}", want: "yes"},
		{tmpl: "{{range L}}[{{. | cmd}}]{{end}}", want: `["x"]["y\"z"]`},
		{tmpl: "{{range N}}x{{end}}.", want: "."},
		{tmpl: "a  {{- A -}}  b", want: "aa bb"},
		{tmpl: "{{if A}}{{if E}}1{{else}}2{{end}}{{end}}", want: "2"},
		{tmpl: "{{Missing}}", wantErr: true},
		{tmpl: "{{A | upper}}", wantErr: true},
		{tmpl: "{{if A}}open", wantErr: true},
		{tmpl: "{{end}}", wantErr: true},
		{tmpl: "{{A", wantErr: true},
		{tmpl: "{{range A}}x{{end}}", wantErr: true},
		{tmpl: "{{L}}", wantErr: true},
		{tmpl: "{{if}}x{{end}}", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.tmpl, func(t *testing.T) {
			got, err := render(tt.tmpl, data)
			if tt.wantErr {
				if !errors.Is(err, ErrTemplate) {
					t.Errorf("render(%q) = %q, %v; want ErrTemplate", tt.tmpl, got, err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("render(%q) = %q, %v; want %q", tt.tmpl, got, err, tt.want)
			}
		})
	}
}

func FuzzRender(f *testing.F) {
	f.Add(Template)
	f.Add("{{if A}}{{range L}}{{.|cmd}}{{end}}{{else}}-{{end}}")
	f.Add("{{- A -}}{{")
	data := map[string]any{"A": "a", "L": []string{"x"}}
	f.Fuzz(func(t *testing.T, tmpl string) {
		out, err := render(tmpl, data)
		if err != nil {
			if !errors.Is(err, ErrTemplate) {
				t.Fatalf("render error %v does not wrap ErrTemplate", err)
			}
			return
		}
		if !strings.Contains(tmpl, "{{") && out != tmpl {
			t.Fatalf("plain text changed: %q → %q", tmpl, out)
		}
	})
}
