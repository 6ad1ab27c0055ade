package ksefe2e_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/posagent/posagent/ksef"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/ksef/ksefsim"
)

// TestTechnicalCorrection: an offline invoice rejected for a technical reason
// is resent, regenerated, with hashOfCorrectedInvoice; KSeF accepts it once,
// and refuses a second correction (21166) and a correction of an invoice that
// was accepted (21167).
func TestTechnicalCorrection(t *testing.T) {
	h, c, s := online(t)
	yesterday := h.clk.today().AddDays(-1)
	good := invoice(t, "FV/OFF/1", yesterday, "10.00")
	// The till's first rendering carried a byte order mark: rejected with 430.
	original := append([]byte{0xEF, 0xBB, 0xBF}, good...)
	origRef, err := s.Send(ctx(t), original, ksefapi.SendOptions{OfflineMode: true})
	if err != nil {
		t.Fatal(err)
	}
	if st := waitInvoice(t, c, s.Reference, origRef); st.Code() != 430 {
		t.Fatalf("original: status %d, want 430", st.Code())
	}
	origHash := sha256.Sum256(original)

	t.Run("NeedsOfflineMode", func(t *testing.T) {
		mark := h.wire.mark()
		_, err := s.Send(ctx(t), good, ksefapi.SendOptions{HashOfCorrected: origHash[:]})
		if !errors.Is(err, ksefapi.ErrInvalidInput) {
			t.Errorf("correction without OfflineMode = %v, want ErrInvalidInput", err)
		}
		if n := len(h.wire.since(mark)); n != 0 {
			t.Errorf("%d requests sent for a request rejected locally", n)
		}
	})

	var corrRef string
	t.Run("Accepted", func(t *testing.T) {
		ref, err := s.Send(ctx(t), good, ksefapi.SendOptions{OfflineMode: true, HashOfCorrected: origHash[:]})
		if err != nil {
			t.Fatalf("corrected send: %v", err)
		}
		corrRef = ref
		st := waitInvoice(t, c, s.Reference, ref)
		if st.Code() != ksefapi.InvoiceSuccess || st.InvoicingMode != "Offline" {
			t.Fatalf("correction: status %d mode %q %v, want 200 Offline", st.Code(), st.InvoicingMode, st.Status.Details)
		}
		checkKSeFNumber(t, h, st.KsefNumber)
		var body struct {
			HashOfCorrectedInvoice *string `json:"hashOfCorrectedInvoice"`
			OfflineMode            bool    `json:"offlineMode"`
		}
		for _, ex := range h.wire.exchanges() {
			if ex.Status == 202 && bytes.Contains(ex.RespBody, []byte(ref)) {
				if err := json.Unmarshal(ex.ReqBody, &body); err != nil {
					t.Fatal(err)
				}
			}
		}
		if body.HashOfCorrectedInvoice == nil || *body.HashOfCorrectedInvoice != hashB64(original) || !body.OfflineMode {
			t.Errorf("request carried hashOfCorrectedInvoice %v offline %v, want %s true", body.HashOfCorrectedInvoice, body.OfflineMode, hashB64(original))
		}
	})
	if corrRef == "" {
		t.FailNow()
	}

	t.Run("SecondCorrection21166", func(t *testing.T) {
		again := invoice(t, "FV/OFF/1", yesterday, "10.00")
		_, err := s.Send(ctx(t), again, ksefapi.SendOptions{OfflineMode: true, HashOfCorrected: origHash[:]})
		if !errors.Is(err, ksefapi.ErrTechnicalCorrectionUnavailable) {
			t.Fatalf("second correction = %v, want ErrTechnicalCorrectionUnavailable (21166)", err)
		}
		if ae := asAPIError(t, err); ae.Status != 400 || ae.Retryable() {
			t.Errorf("21166: status %d retryable %v, want a final 400", ae.Status, ae.Retryable())
		}
	})

	t.Run("CorrectingAcceptedInvoice21167", func(t *testing.T) {
		ok := invoice(t, "FV/OFF/2", yesterday, "20.00")
		ref, err := s.Send(ctx(t), ok, ksefapi.SendOptions{OfflineMode: true})
		if err != nil {
			t.Fatal(err)
		}
		if st := waitInvoice(t, c, s.Reference, ref); st.Code() != ksefapi.InvoiceSuccess {
			t.Fatalf("status %d", st.Code())
		}
		okHash := sha256.Sum256(ok)
		_, err = s.Send(ctx(t), invoice(t, "FV/OFF/2", yesterday, "20.01"), ksefapi.SendOptions{OfflineMode: true, HashOfCorrected: okHash[:]})
		if !errors.Is(err, ksefapi.ErrTechnicalCorrectionNotAllowed) {
			t.Errorf("correcting an accepted invoice = %v, want ErrTechnicalCorrectionNotAllowed (21167)", err)
		}
	})
}

// TestOfflineClassification: KSeF marks an invoice Offline when its P_1 is
// before the day it receives it, whatever offlineMode said.
func TestOfflineClassification(t *testing.T) {
	h, c, s := online(t)
	today := h.clk.today()
	tests := []struct {
		name    string
		xml     []byte
		offline bool
		want    string
	}{
		{"TodayOnline", invoice(t, "FV/M/1", today, "1.00"), false, "Online"},
		{"YesterdayUndeclared", invoice(t, "FV/M/2", today.AddDays(-1), "2.00"), false, "Offline"},
		{"TodayDeclaredOffline", invoice(t, "FV/M/3", today, "3.00"), true, "Offline"},
		{"LastWeekDeclared", invoice(t, "FV/M/4", today.AddDays(-7), "4.00"), true, "Offline"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref, err := s.Send(ctx(t), tt.xml, ksefapi.SendOptions{OfflineMode: tt.offline})
			if err != nil {
				t.Fatal(err)
			}
			st := waitInvoice(t, c, s.Reference, ref)
			if st.Code() != ksefapi.InvoiceSuccess || st.InvoicingMode != tt.want {
				t.Fatalf("status %d invoicingMode %q, want 200 %q", st.Code(), st.InvoicingMode, tt.want)
			}
			upo, _, err := c.DownloadUPO(ctx(t), st.UpoDownloadURL)
			if err != nil {
				t.Fatal(err)
			}
			if d, ok := upo.Document(st.KsefNumber); !ok || d.InvoicingMode != tt.want {
				t.Errorf("UPO TrybWysylki %q, want %q", d.InvoicingMode, tt.want)
			}
		})
	}
}

// TestOfflineClassificationAtMidnight: KSeF compares calendar days in Polish
// time. At 23:30 UTC it is already the next day in Warsaw, which is the day a
// till prints as P_1 (ksef.DateOf): that invoice is Online, one dated the UTC
// day is Offline.
func TestOfflineClassificationAtMidnight(t *testing.T) {
	at := time.Date(2026, 11, 20, 23, 30, 0, 0, time.UTC)
	h := startAt(t, ksefsim.Options{DisableRateLimits: true}, at)
	c := h.tokenClient()
	s := openOnline(t, c)
	warsawDay := ksef.DateOf(h.clk.Now())
	if warsawDay != ksef.NewDate(2026, 11, 21) {
		t.Fatalf("DateOf(%v) = %v, want 2026-11-21", h.clk.Now(), warsawDay)
	}
	tests := []struct {
		name string
		p1   ksef.Date
		want string
	}{
		{"WarsawDay", warsawDay, "Online"},
		{"UTCDay", ksef.NewDate(2026, 11, 20), "Offline"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ref := send(t, s, invoice(t, fmt.Sprintf("FV/MN/%d", i), tt.p1, price(i)))
			st := waitInvoice(t, c, s.Reference, ref)
			if st.Code() != ksefapi.InvoiceSuccess || st.InvoicingMode != tt.want {
				t.Errorf("P_1 %v at %v: status %d mode %q %v, want 200 %s", tt.p1, at, st.Code(), st.InvoicingMode, st.Status.Details, tt.want)
			}
			if k, err := ksef.ParseKSeFNumber(st.KsefNumber); err != nil || k.Date != warsawDay {
				t.Errorf("KSeF number %s (%v): date want the Warsaw day %v", st.KsefNumber, err, warsawDay)
			}
		})
	}
}
