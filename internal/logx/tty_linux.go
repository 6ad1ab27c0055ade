package logx

import (
	"os"

	"golang.org/x/sys/unix"
)

// isTerminal asks the kernel for terminal attributes, which only a tty has
// (a character device such as /dev/null is not a terminal).
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}
