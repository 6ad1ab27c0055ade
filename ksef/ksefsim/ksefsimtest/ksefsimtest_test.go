package ksefsimtest_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/posagent/posagent/ksef/ksefsim"
	"github.com/posagent/posagent/ksef/ksefsim/ksefsimtest"
)

func TestStart(t *testing.T) {
	sim := ksefsimtest.Start(t, nil)
	resp, err := http.Post(sim.Base+"/auth/challenge", "application/json", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var ch struct{ Challenge string }
	if err := json.NewDecoder(resp.Body).Decode(&ch); err != nil || len(ch.Challenge) != 36 {
		t.Fatalf("challenge = %q, %v", ch.Challenge, err)
	}
	if err := sim.SetAvailability(ksefsim.StatusFailure, ""); err != nil {
		t.Fatal(err)
	}
	resp2, err := http.Get(sim.Latarnia + "/status")
	if err != nil {
		t.Fatal(err)
	}
	defer resp2.Body.Close()
	var st struct{ Status string }
	if err := json.NewDecoder(resp2.Body).Decode(&st); err != nil || st.Status != ksefsim.StatusFailure {
		t.Fatalf("latarnia status = %q, %v", st.Status, err)
	}
}
