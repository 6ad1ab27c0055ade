package main

import (
	"fmt"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// shutdownSignals end the foreground service and every long verb: Ctrl-C and
// systemd's SIGTERM.
var shutdownSignals = []os.Signal{os.Interrupt, syscall.SIGTERM}

// diskSpace reports the free bytes (for unprivileged users) and the total size
// of the file system holding path.
func diskSpace(path string) (free, total uint64, err error) {
	var st unix.Statfs_t
	if err := unix.Statfs(path, &st); err != nil {
		return 0, 0, fmt.Errorf("statfs %s: %w", path, err)
	}
	bs := uint64(st.Bsize)
	return st.Bavail * bs, st.Blocks * bs, nil
}
