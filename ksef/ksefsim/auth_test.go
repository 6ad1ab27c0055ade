package ksefsim_test

import (
	"testing"
	"time"

	"github.com/posagent/posagent/ksef/ksefsim"
)

func TestTokenAuth(t *testing.T) {
	e := newEnv(t, &ksefsim.Options{ProcessingDelay: 2 * time.Second})
	r := e.startTokenAuth(testNIP, testToken, nil)
	e.want(r, 202, "AuthenticationInitResponse")
	var init authInit
	r.json(t, &init)

	if code, _ := e.authStatus(init); code != 100 {
		t.Fatalf("status before ProcessingDelay = %d, want 100", code)
	}
	e.wantCode(e.do("POST", "/v2/auth/token/redeem", init.AuthenticationToken.Token, nil), 400, 21301)
	e.clk.Add(2 * time.Second)
	tk := e.redeem(init)
	if tk.AccessToken.Token == "" || tk.RefreshToken.Token == "" {
		t.Fatalf("redeem returned empty tokens")
	}
	t.Run("RedeemTwice", func(t *testing.T) {
		e := e.sub(t)
		e.wantCode(e.do("POST", "/v2/auth/token/redeem", init.AuthenticationToken.Token, nil), 400, 21301)
	})
	t.Run("Refresh", func(t *testing.T) {
		e := e.sub(t)
		r := e.do("POST", "/v2/auth/token/refresh", tk.RefreshToken.Token, nil)
		e.want(r, 200, "AuthenticationTokenRefreshResponse")
		var out tokens
		r.json(t, &out)
		if out.AccessToken.Token == "" || out.AccessToken.Token == tk.AccessToken.Token {
			t.Fatalf("refresh gave %q", out.AccessToken.Token)
		}
		// An access token is not a refresh token.
		e.want(e.do("POST", "/v2/auth/token/refresh", tk.AccessToken.Token, nil), 401, "UnauthorizedProblemDetails")
	})
	t.Run("NoBearer", func(t *testing.T) {
		e := e.sub(t)
		e.want(e.do("POST", "/v2/sessions/online", "", map[string]any{}), 401, "UnauthorizedProblemDetails")
		e.want(e.do("GET", "/v2/sessions/x", "garbage", nil), 401, "UnauthorizedProblemDetails")
	})
	t.Run("AccessExpires", func(t *testing.T) {
		e := e.sub(t)
		e.clk.Add(ksefsim.DefaultAccessTokenTTL + time.Second)
		e.want(e.do("GET", "/v2/sessions/x", tk.AccessToken.Token, nil), 401, "UnauthorizedProblemDetails")
	})
}

func TestTokenAuthFailures(t *testing.T) {
	e := newEnv(t, nil)
	tests := []struct {
		name  string
		nip   string
		token string
		ts    func(int64) int64
		want  int
	}{
		{"UnknownToken", testNIP, "not-a-token", nil, 450},
		{"WrongTimestamp", testNIP, testToken, func(ms int64) int64 { return ms - 1 }, 450},
		{"OtherContext", otherNIP, testToken, nil, 415},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := e.sub(t)
			r := e.startTokenAuth(tt.nip, tt.token, tt.ts)
			e.want(r, 202, "AuthenticationInitResponse")
			var init authInit
			r.json(t, &init)
			if got, r := e.authStatus(init); got != tt.want {
				t.Fatalf("auth status = %d, want %d: %s", got, tt.want, r.body)
			}
			e.wantCode(e.do("POST", "/v2/auth/token/redeem", init.AuthenticationToken.Token, nil), 400, 21301)
		})
	}
	t.Run("ChallengeReused", func(t *testing.T) {
		e := e.sub(t)
		k := e.publicKey(ksefsim.UsageTokenEncryption)
		ch := e.challenge()
		body := map[string]any{"challenge": ch.Challenge, "contextIdentifier": map[string]string{"type": "Nip", "value": testNIP}, "encryptedToken": []byte("x"), "publicKeyId": k.id}
		e.want(e.do("POST", "/v2/auth/ksef-token", "", body), 202, "")
		e.wantCode(e.do("POST", "/v2/auth/ksef-token", "", body), 400, 21111)
	})
	t.Run("ChallengeExpired", func(t *testing.T) {
		e := e.sub(t)
		k := e.publicKey(ksefsim.UsageTokenEncryption)
		ch := e.challenge()
		e.clk.Add(10*time.Minute + time.Second)
		body := map[string]any{"challenge": ch.Challenge, "contextIdentifier": map[string]string{"type": "Nip", "value": testNIP}, "encryptedToken": []byte("x"), "publicKeyId": k.id}
		e.wantCode(e.do("POST", "/v2/auth/ksef-token", "", body), 400, 21111)
	})
	t.Run("AddToken", func(t *testing.T) {
		e := e.sub(t)
		if err := e.sim.AddToken("late-token", otherNIP); err != nil {
			t.Fatal(err)
		}
		r := e.startTokenAuth(otherNIP, "late-token", nil)
		var init authInit
		r.json(t, &init)
		e.redeem(init)
		if err := e.sim.AddToken("a|b", otherNIP); err == nil {
			t.Fatal("AddToken accepted a token with '|'")
		}
	})
	t.Run("RotatedKey", func(t *testing.T) {
		e := e.sub(t)
		old := e.publicKey(ksefsim.UsageTokenEncryption)
		if err := e.sim.RotateKeys(); err != nil {
			t.Fatal(err)
		}
		if now := e.publicKey(ksefsim.UsageTokenEncryption); now.id == old.id {
			t.Fatalf("key id unchanged after rotation")
		}
		ch := e.challenge()
		body := map[string]any{"challenge": ch.Challenge, "contextIdentifier": map[string]string{"type": "Nip", "value": testNIP}, "encryptedToken": []byte("x"), "publicKeyId": old.id}
		e.wantCode(e.do("POST", "/v2/auth/ksef-token", "", body), 400, 21470)
		// A fresh login with the new key works.
		e.login()
	})
}
