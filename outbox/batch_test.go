package outbox_test

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

// TestBatchSending: a batch moves the queued records to sending in one call,
// records the send time and the batch, then the session; a restart lists them
// with their session for the agent to ask KSeF.
func TestBatchSending(t *testing.T) {
	now := t0
	path := t.TempDir() + "/outbox.db"
	opts := &outbox.Options{Now: func() time.Time { return now }}
	s, err := outbox.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, sale := range []string{"b1", "b2", "b3"} {
		ids = append(ids, mustIssue(t, s, outboxtest.Request(sale, t0)).ID)
	}
	if err := s.MarkSending(ctx, ids[1], "ONLINE"); err != nil { // taken meanwhile
		t.Fatal(err)
	}
	now = t0.Add(time.Minute)
	moved, err := s.MarkSendingBatch(ctx, ids, "B1")
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{ids[0], ids[2]}; !reflect.DeepEqual(moved, want) {
		t.Fatalf("moved %v, want %v", moved, want)
	}
	for _, id := range moved {
		inv, _ := s.Get(ctx, id)
		if inv.Upload != outbox.UploadSending || inv.Batch != "B1" || inv.SessionRef != "" || !inv.LastSendAt.Equal(now) || inv.Attempts != 1 {
			t.Errorf("%s after MarkSendingBatch: %s batch %q session %q last send %v attempts %d",
				id, inv.Upload, inv.Batch, inv.SessionRef, inv.LastSendAt, inv.Attempts)
		}
	}
	if inv, _ := s.Get(ctx, ids[1]); inv.Batch != "" || inv.SessionRef != "ONLINE" || !inv.LastSendAt.Equal(t0) {
		t.Errorf("online record changed by the batch: %+v", inv)
	}
	n, err := s.SetSessionRef(ctx, ids, "B1", "SES-B1")
	if err != nil || n != 2 {
		t.Fatalf("SetSessionRef = %d, %v; want 2", n, err)
	}
	if n, _ := s.SetSessionRef(ctx, ids, "B1", "SES-B1"); n != 0 {
		t.Errorf("repeated SetSessionRef changed %d records", n)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s, err = outbox.Open(path, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	rec := s.Recovered().Sending
	if len(rec) != 3 {
		t.Fatalf("recovered %d sending, want 3", len(rec))
	}
	for _, id := range rec {
		inv, err := s.Get(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if inv.Batch == "B1" && inv.SessionRef != "SES-B1" {
			t.Errorf("recovered %s without its batch session: %+v", inv.ID, inv)
		}
	}
	if err := s.Check(ctx); err != nil {
		t.Error(err)
	}
}

func TestBatchSendingBadInput(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	inv := mustIssue(t, s, outboxtest.Request("x", t0))
	tests := []struct {
		name string
		do   func() error
		want error
	}{
		{"empty batch", func() error { _, err := s.MarkSendingBatch(ctx, []string{inv.ID}, ""); return err }, outbox.ErrInvalidRequest},
		{"bad id", func() error { _, err := s.MarkSendingBatch(ctx, []string{inv.ID, "zz"}, "B"); return err }, outbox.ErrInvalidID},
		{"unknown id", func() error { _, err := s.MarkSendingBatch(ctx, []string{inv.ID, "0000000099"}, "B"); return err }, outbox.ErrNotFound},
		{"empty session", func() error { _, err := s.SetSessionRef(ctx, []string{inv.ID}, "B", ""); return err }, outbox.ErrInvalidRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.do(); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if got, _ := s.Get(ctx, inv.ID); !reflect.DeepEqual(got, inv) {
				t.Errorf("record changed by a refused call")
			}
		})
	}
}

// TestListDueAndXML: ListDue plans from summaries; XML returns the stored bytes.
func TestListDueAndXML(t *testing.T) {
	s := outboxtest.MustOpen(t, nil)
	inv := mustIssue(t, s, outboxtest.Request("x", t0))
	due, err := s.ListDue(ctx, t0, 10)
	if err != nil || len(due) != 1 {
		t.Fatalf("ListDue = %d, %v", len(due), err)
	}
	want := outbox.Due{ID: inv.ID, Number: inv.Number, Hash: inv.Hash, Mode: inv.Mode, P1: inv.P1, IssuedAt: inv.IssuedAt}
	if !reflect.DeepEqual(due[0], want) {
		t.Errorf("ListDue = %+v, want %+v", due[0], want)
	}
	if due, err := s.ListDue(ctx, t0, 0); err == nil || due != nil {
		t.Errorf("ListDue(limit 0) = %v, %v; want an error", due, err)
	}
	x, err := s.XML(ctx, inv.ID)
	if err != nil || !bytes.Equal(x, inv.XML) || outbox.HashOf(x) != inv.Hash {
		t.Errorf("XML = %q, %v; want the stored bytes", x, err)
	}
	if _, err := s.XML(ctx, "0000000099"); !errors.Is(err, outbox.ErrNotFound) {
		t.Errorf("XML(unknown) = %v, want ErrNotFound", err)
	}
}
