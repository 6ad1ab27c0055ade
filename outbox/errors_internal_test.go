package outbox

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"testing"

	berrors "go.etcd.io/bbolt/errors"
)

func TestMapFull(t *testing.T) {
	tests := []struct {
		name string
		in   error
		full bool
	}{
		{"ENOSPC", &os.PathError{Op: "write", Path: "/data/outbox.db", Err: syscall.ENOSPC}, true},
		{"wrapped ENOSPC", fmt.Errorf("grow: %w", syscall.ENOSPC), true},
		{"bbolt cap", berrors.ErrMaxSizeReached, true},
		{"EIO", &os.PathError{Op: "write", Path: "/data/outbox.db", Err: syscall.EIO}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := mapFull(tt.in)
			if got := errors.Is(err, ErrStoreFull); got != tt.full {
				t.Fatalf("mapFull(%v) = %v, full %v, want %v", tt.in, err, got, tt.full)
			}
			if !errors.Is(err, tt.in) {
				t.Errorf("mapFull(%v) lost the cause", tt.in)
			}
		})
	}
	if mapFull(nil) != nil {
		t.Errorf("mapFull(nil) != nil")
	}
}
