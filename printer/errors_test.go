package printer_test

import (
	"errors"
	"testing"

	"github.com/posagent/posagent/printer"
)

func TestErrorsRetryable(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"paper out", &printer.StatusError{}, true},
		{"unrecoverable", func() error { e := &printer.StatusError{}; e.Unrecoverable = true; return e }(), false},
		{"timeout", &printer.TimeoutError{Op: "status"}, true},
		{"disconnected", &printer.DisconnectedError{Op: "write", Err: errors.New("EIO")}, true},
		{"options", &printer.OptionError{Field: "Baud"}, false},
		{"plain", errors.New("x"), false},
		{"cancelled", printer.ErrCancelled, false},
	}
	for _, tt := range tests {
		if got := printer.Retryable(tt.err); got != tt.want {
			t.Errorf("Retryable(%s) = %v, want %v", tt.name, got, tt.want)
		}
	}
}
