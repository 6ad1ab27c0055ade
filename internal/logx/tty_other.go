//go:build !linux

package logx

import "os"

// isTerminal falls back to "is a character device" where termios is not at hand.
func isTerminal(f *os.File) bool {
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
