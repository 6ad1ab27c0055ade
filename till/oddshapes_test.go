package till_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/posagent/posagent/till"
	"github.com/posagent/posagent/till/tilltest"
)

// TestReplayReserialized: the same sale sent again under its key with other
// key order, whitespace and number forms is a replay, not a conflict.
func TestReplayReserialized(t *testing.T) {
	h := newHarness(t, till.Options{})
	first := h.sale("k", validSale)
	if first.Code != http.StatusCreated {
		t.Fatalf("sale = %d %s", first.Code, first.Body)
	}
	again := "{\n  \"issue_date\": \"2026-11-21\",\n  \"payment\": {\"paid\": true, \"form\": \"card\"},\n" +
		"  \"lines\": [{\"vat_rate\": \"23\", \"unit_price\": 12.3, \"quantity\": 2.0, \"unit\": \"szt.\", \"name\": \"Kawa\"}],\n" +
		"  \"price_mode\": \"gross\",\n  \"buyer\": {\"kind\": \"consumer\"}\n}"
	rec := h.sale("k", again)
	if rec.Code != http.StatusOK || rec.Header().Get("Idempotent-Replayed") != "true" || viewOf(t, rec).ID != viewOf(t, first).ID {
		t.Fatalf("re-serialized replay = %d %s, want 200 with the first invoice", rec.Code, rec.Body)
	}
	if rec := h.sale("k", strings.Replace(again, "12.3", "12.4", 1)); rec.Code != http.StatusConflict || problemOf(t, rec).Code != till.CodeKeyReused {
		t.Fatalf("another price under the key = %d %s, want 409 %s", rec.Code, rec.Body, till.CodeKeyReused)
	}
}

// TestTextProblems: text that is not text is named for what it is, with
// its field; a whole surrogate pair is a character like any other.
func TestTextProblems(t *testing.T) {
	h := newHarness(t, till.Options{})
	tests := []struct {
		name, name2 string // the line's name as JSON text, without quotes
		wantStatus  int
		wantReason  string
	}{
		{"lone high surrogate", `Kawa \ud800`, 422, `lone UTF-16 surrogate \uD800`},
		{"lone low surrogate", `\uDC00Kawa`, 422, `lone UTF-16 surrogate \uDC00`},
		{"reversed pair", `\ude00\ud83d`, 422, `lone UTF-16 surrogate \uDE00`},
		{"high then not low", `\ud83d\u0041`, 422, `lone UTF-16 surrogate \uD83D`},
		{"invalid UTF-8", "Kawa \xff", 422, "not valid UTF-8: byte 0xFF"},
		{"whole pair", `Kawa \ud83d\ude00`, 201, ""},
		{"escaped backslash before u", `Kawa \\ud800`, 201, ""},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			body := strings.Replace(validSale, `"name":"Kawa"`, `"name":"`+tt.name2+`"`, 1)
			rec := h.sale(fmt.Sprint("text-", i), body)
			if rec.Code != tt.wantStatus {
				t.Fatalf("status = %d %s, want %d", rec.Code, rec.Body, tt.wantStatus)
			}
			if tt.wantStatus != 422 {
				return
			}
			p := problemOf(t, rec)
			if p.Code != till.CodeInvalidText || len(p.Errors) != 1 || p.Errors[0].Field != "lines[0].name" ||
				!strings.Contains(p.Errors[0].Reason, tt.wantReason) || strings.Contains(p.Detail, "U+FFFD") {
				t.Errorf("problem = %+v, want %s at lines[0].name naming %q", p, till.CodeInvalidText, tt.wantReason)
			}
		})
	}
}

// TestUncleanPaths: "." and ".." segments and doubled slashes get a
// problem+json 404, never ServeMux's redirect with an HTML body.
func TestUncleanPaths(t *testing.T) {
	h := newHarness(t, till.Options{})
	for _, p := range []string{"/v1/invoices/../status", "/v1/./status", "//v1/status", "/v1/invoices/%2e%2e/status", "/v1/status/..", "/../v1/status"} {
		rec := h.do(request{method: "GET", path: p})
		if rec.Code != http.StatusNotFound || problemOf(t, rec).Code != till.CodeRouteNotFound || rec.Header().Get("Location") != "" {
			t.Errorf("GET %s = %d %s (Location %q), want 404 %s", p, rec.Code, rec.Body, rec.Header().Get("Location"), till.CodeRouteNotFound)
		}
	}
	if rec := h.do(request{method: "GET", path: "/v1/status"}); rec.Code != http.StatusOK {
		t.Errorf("GET /v1/status = %d", rec.Code)
	}
}

// TestHostCheck: without a token only loopback host names are served
// (DNS rebinding); with one, the token guards and any name is served.
func TestHostCheck(t *testing.T) {
	tests := []struct {
		host string
		ok   bool
	}{
		{"127.0.0.1:8080", true},
		{"127.0.0.1", true},
		{"localhost:8080", true},
		{"LocalHost:1", true},
		{"[::1]:8080", true},
		{"[::1]", true},
		{"127.0.0.2:8080", true},
		{"evil.example:8080", false},
		{"evil.example", false},
		{"localhost.evil.example:8080", false},
		{"127.0.0.1.nip.io:8080", false},
		{"::1", false},
		{"[::1]:8080:1", false},
		{"10.0.0.5:8080", false},
		{"[::ffff:10.0.0.5]:8080", false},
	}
	open := newHarness(t, till.Options{})
	tok := newHarness(t, till.Options{Token: testToken})
	for _, tt := range tests {
		t.Run(tt.host, func(t *testing.T) {
			for _, path := range []string{"/v1/status", "/metrics", "/"} {
				rec := open.do(request{method: "GET", path: path, host: tt.host})
				if got := rec.Code != http.StatusForbidden; got != tt.ok {
					t.Errorf("GET %s Host %q without a token = %d, want allowed %v", path, tt.host, rec.Code, tt.ok)
				}
				if !tt.ok && problemOf(t, rec).Code != till.CodeHostNotAllowed {
					t.Errorf("refusal code = %s, want %s", rec.Body, till.CodeHostNotAllowed)
				}
			}
			if rec := tok.do(request{method: "GET", path: "/v1/status", host: tt.host, token: testToken}); rec.Code != http.StatusOK {
				t.Errorf("GET /v1/status Host %q with the token = %d %s, want 200", tt.host, rec.Code, rec.Body)
			}
		})
	}
}

// TestTooLargeDrained: a client that writes its whole oversized body before
// reading gets the 413, not a reset connection.
func TestTooLargeDrained(t *testing.T) {
	srv, err := till.New(tilltest.New(), till.Options{Listen: "127.0.0.1:0"})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	// More than the loopback socket buffers hold, so an undrained body is
	// still being written when the server closes.
	body := strings.Repeat("x", 12*till.DefaultMaxBody)
	conn, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(30 * time.Second))
	head := fmt.Sprintf("POST /v1/sales HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nIdempotency-Key: big\r\nContent-Length: %d\r\n\r\n", ln.Addr(), len(body))
	if _, err := io.WriteString(conn, head+body); err != nil {
		t.Fatalf("writing the body: %v (the server reset the connection before reading it)", err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("reading the answer: %v", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(raw), till.CodeBodyTooLarge) {
		t.Fatalf("answer = %d %s, want 413 %s", resp.StatusCode, raw, till.CodeBodyTooLarge)
	}
}

// FuzzTextProblems puts arbitrary bytes into a string value of a valid sale:
// DecodeSale never panics and never blames U+FFFD unless the body holds one
// (as bytes or as an escape) — a lone surrogate or a byte that is not UTF-8
// is named for what it is.
func FuzzTextProblems(f *testing.F) {
	for _, s := range []string{`Kawa`, `\ud800`, `\udc00x`, `\ud83d\ude00`, `\\ud800`, "\xff", "\xef\xbf\xbd", `\ufffd`, `\u00e9\u`, `"`, `\\`, `\ud800\ud800\udc00`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		body := strings.Replace(validSale, `"name":"Kawa"`, `"name":"`+string(raw)+`"`, 1)
		_, err := till.DecodeSale([]byte(body))
		if err == nil {
			return
		}
		literal := bytes.Contains(raw, []byte("\uFFFD")) || bytes.Contains(bytes.ToLower(raw), []byte(`\ufffd`))
		if strings.Contains(err.Error(), "U+FFFD") && !literal {
			t.Fatalf("DecodeSale(%q) = %v: blames U+FFFD, which the body does not hold", raw, err)
		}
	})
}

// FuzzHostCheck: without a token, a Host is served only when net/url reads
// it as localhost or a loopback IP literal — names no DNS answer can move.
func FuzzHostCheck(f *testing.F) {
	for _, h := range []string{"127.0.0.1:8080", "localhost", "[::1]:1", "[::1]", "::1", "evil.example", "127.0.0.1.nip.io", "[::ffff:127.0.0.1]:80", "LOCALHOST:0", "localhost:", "[fe80::1%25lo]:80", ""} {
		f.Add(h)
	}
	srv, err := till.New(tilltest.New(), till.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, host string) {
		req := httptest.NewRequest("GET", "/metrics", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code == http.StatusForbidden || host == "" {
			return
		}
		u, err := url.Parse("http://" + host + "/")
		name := ""
		if err == nil {
			name = u.Hostname()
		}
		ip := net.ParseIP(name)
		if !strings.EqualFold(name, "localhost") && (ip == nil || !ip.IsLoopback()) {
			t.Fatalf("Host %q served (%d) without a token; net/url reads its name as %q", host, rec.Code, name)
		}
	})
}
