package main

import (
	"fmt"
	"os"

	"golang.org/x/sys/windows"
)

// shutdownSignals end the foreground service and every long verb.
var shutdownSignals = []os.Signal{os.Interrupt}

// diskSpace reports the free bytes and the total size of the volume holding path.
func diskSpace(path string) (free, total uint64, err error) {
	p, err := windows.UTF16PtrFromString(path)
	if err != nil {
		return 0, 0, fmt.Errorf("disk space %s: %w", path, err)
	}
	var avail, tot, totFree uint64
	if err := windows.GetDiskFreeSpaceEx(p, &avail, &tot, &totFree); err != nil {
		return 0, 0, fmt.Errorf("disk space %s: %w", path, err)
	}
	return avail, tot, nil
}

// matchOwner does nothing here: file ownership is a Unix concern.
func matchOwner(ref string, paths ...string) error { return nil }
