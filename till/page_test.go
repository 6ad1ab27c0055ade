package till_test

import (
	"bytes"
	"context"
	"flag"
	"fmt"
	"image/png"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/testutil"
	"github.com/posagent/posagent/till"
)

var update = flag.Bool("update", false, "update golden files")

var pageNow = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// TestRenderPageGolden pins the status page's HTML.
func TestRenderPageGolden(t *testing.T) {
	st := fullStatus(pageNow)
	got, err := till.RenderPage(&st)
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "status-page.golden.html")
	if *update {
		if err := os.WriteFile(golden, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./till -run Golden -update)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("status page differs from %s (run with -update after review)\n%s", golden, lineDiff(string(want), string(got)))
	}
}

func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := range max(len(w), len(g)) {
		var a, b string
		if i < len(w) {
			a = w[i]
		}
		if i < len(g) {
			b = g[i]
		}
		if a != b {
			return fmt.Sprintf("line %d:\nwant %q\ngot  %q", i+1, a, b)
		}
	}
	return ""
}

func TestRenderPageStates(t *testing.T) {
	tests := []struct {
		name   string
		edit   func(*till.Status)
		want   []string
		absent []string
	}{
		{"healthy", func(s *till.Status) {
			due := s.Now.Add(30 * time.Hour)
			s.Link = till.Link{State: "up"}
			s.Mode.Override = ""
			s.Printer = till.Printer{State: "ok"}
			s.Backlog = till.Backlog{Count: 1, EarliestDeadline: &due}
			s.Errors = nil
		}, []string{`class="ok">up`, "none (automatic)", "nothing overdue", "in 1 d 6 h", `<p class="ok">none</p>`}, []string{"penalty exposure"}},
		{"no certificate", func(s *till.Status) { s.Certificate = till.Certificate{} }, []string{"no certificate"}, nil},
		{"expired certificate", func(s *till.Status) { s.Certificate.DaysLeft = -1 }, []string{`class="bad">expired`}, nil},
		{"escapes text", func(s *till.Status) { s.Errors[0].Message = `<script>alert(1)</script>` }, []string{"&lt;script&gt;"}, []string{"<script>"}},
		{"revoked certificate refuses offline sales", func(s *till.Status) {
			s.Certificate.KSeFState, s.Certificate.Refused = "Revoked", "KSeF reports certificate 0123456789ABCDEF revoked"
		}, []string{`class="bad">revoked in KSeF`, `id="offline-refused">Offline sales refused: KSeF reports certificate 0123456789ABCDEF revoked`}, nil},
		{"suspended certificate", func(s *till.Status) { s.Certificate.KSeFState = "Blocked" }, []string{`class="bad">suspended in KSeF`}, []string{"offline-refused"}},
		{"token countdown", nil, []string{`id="auth-method" class="warn">token (tokens end 2026-12-31, 38 days left)`, `id="auth-failures"`}, []string{"auth-alarm"}},
		{"token alarm", func(s *till.Status) { s.Auth.Alarm = "KSeF tokens stopped working on 2027-01-01" },
			[]string{`id="auth-method" class="bad">token`, `id="auth-alarm">KSeF tokens stopped working on 2027-01-01`}, nil},
		{"xades", func(s *till.Status) { s.Auth = till.Auth{Method: "xades"} }, []string{`id="auth-method" class="ok">xades</dd>`}, []string{"auth-cert", "tokens end"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := fullStatus(pageNow)
			if tt.edit != nil {
				tt.edit(&st)
			}
			b, err := till.RenderPage(&st)
			if err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !bytes.Contains(b, []byte(w)) {
					t.Errorf("page lacks %q", w)
				}
			}
			for _, a := range tt.absent {
				if bytes.Contains(b, []byte(a)) {
					t.Errorf("page has %q", a)
				}
			}
		})
	}
}

// chromium runs headless Chromium with args and returns its stdout.
func chromium(t *testing.T, args ...string) []byte {
	t.Helper()
	bin := testutil.RequireTool(t, "chromium")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	base := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--no-first-run", "--disable-dev-shm-usage",
		"--user-data-dir=" + t.TempDir(), "--window-size=360,740"}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.Bytes())
	}
	return out
}

// text returns the text of the element with the given id in a DOM dump,
// with tags removed and whitespace collapsed.
func text(t *testing.T, dom, id string) string {
	t.Helper()
	re := regexp.MustCompile(`(?s)<(\w+)[^>]*\bid="` + regexp.QuoteMeta(id) + `"[^>]*>(.*?)</(?:dd|p|table|section)>`)
	m := re.FindStringSubmatch(dom)
	if m == nil {
		t.Errorf("no element #%s in the page", id)
		return ""
	}
	s := regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[2], " ")
	s = strings.NewReplacer("&nbsp;", " ", "&amp;", "&").Replace(s)
	return strings.Join(strings.Fields(s), " ")
}

// TestStatusPageChromium loads GET / in headless Chromium and checks what it shows.
func TestStatusPageChromium(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Chromium")
	}
	h := newHarness(t, till.Options{})
	h.core.SetStatus(fullStatus(pageNow))
	h.core.SetMode(context.Background(), "offline24")
	ts := httptest.NewServer(h.srv.Handler())
	defer ts.Close()

	dom := string(chromium(t, "--dump-dom", ts.URL+"/"))
	checks := []struct{ id, want string }{
		{"link-state", "down (checked 2026-11-23 09:57)"},
		{"link-error", "dial tcp: i/o timeout"},
		{"ksef-state", "available (test)"},
		{"mode-current", "offline24"},
		{"mode-override", "offline24 (set by operator)"},
		{"printer-state", "paper_out: paper end sensor"},
		{"printer-jobs", "3 pending, 1 failed"},
		{"backlog-count", "42"},
		{"backlog-deadline", "2026-11-22 08:00 (overdue by 1 d 2 h)"},
		{"overdue-summary", "2 overdue, penalty exposure up to 1280.56 PLN (art. 106ni, deadlines from 2027-01-01)"},
		{"overdue", "Invoice Deadline Exposure FV/T1/2026/000007 2026-11-22 08:00 46.00 PLN (100% VAT) FV/T1/2026/000009 2026-11-22 09:00 1234.56 PLN (18.7% gross)"},
		{"cert-days", "5 days left"},
		{"cert-ksef", "Active"},
		{"auth-method", "token (tokens end 2026-12-31, 38 days left)"},
		{"auth-cert", "0321C82DA41B4362, until 2026-11-28 11:00 (5 days left), KSeF: Active"},
	}
	for _, c := range checks {
		if got := text(t, dom, c.id); got != c.want {
			t.Errorf("#%s = %q, want %q", c.id, got, c.want)
		}
	}
	errs := text(t, dom, "error-list")
	for i := 1; i <= 25; i++ {
		has := strings.Contains(errs, fmt.Sprintf("error number %d ", i)) || strings.HasSuffix(errs, fmt.Sprintf("error number %d", i))
		if has != (i <= till.MaxErrors) {
			t.Errorf("error %d shown = %v, want %v", i, has, i <= till.MaxErrors)
		}
	}
	if regexp.MustCompile(`(?i)<(script|link|img|iframe)\b|\bsrc=|url\(`).MatchString(dom) {
		t.Errorf("the page refers to external assets or scripts")
	}

	shot := filepath.Join(t.TempDir(), "status.png")
	chromium(t, "--screenshot="+shot, "--hide-scrollbars", ts.URL+"/")
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 360 {
		t.Errorf("screenshot width %d, want 360", b.Dx())
	}
	// A rendered page has more than a background: count distinct colours.
	colours := map[uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, _ := img.At(x, y).RGBA()
			colours[r>>8<<16|g>>8<<8|bl>>8] = true
		}
	}
	if len(colours) < 8 {
		t.Errorf("screenshot has %d colours; the page did not render", len(colours))
	}
}
