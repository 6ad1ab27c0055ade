package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
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

// matchOwner gives paths (recursively for directories) the owner of ref, so
// files root makes for the service (certificates, the machine key) stay
// readable by the service user that owns the data directory.
func matchOwner(ref string, paths ...string) error {
	var st unix.Stat_t
	if err := unix.Stat(ref, &st); err != nil {
		return err
	}
	if os.Geteuid() != 0 {
		return nil
	}
	for _, p := range paths {
		err := filepath.WalkDir(p, func(path string, _ fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			return os.Lchown(path, int(st.Uid), int(st.Gid))
		})
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return err
		}
	}
	return nil
}
