package ksef

import "fmt"

var nipWeights = [9]int{6, 5, 7, 2, 3, 4, 5, 6, 7}

// ValidNIP reports whether s is a Polish NIP: exactly 10 digits (no dashes or
// prefix) whose last digit is the weighted mod-11 checksum of the first nine.
func ValidNIP(s string) bool { return CheckNIP(s) == nil }

// CheckNIP is ValidNIP with a reason: it returns an error wrapping ErrNIP.
func CheckNIP(s string) error {
	if len(s) != 10 {
		return fmt.Errorf("%w %q: want 10 digits, got %d characters", ErrNIP, s, len(s))
	}
	sum := 0
	for i := 0; i < 10; i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return fmt.Errorf("%w %q: not all digits", ErrNIP, s)
		}
		if i < 9 {
			sum += int(c-'0') * nipWeights[i]
		}
	}
	// The FA(3) type TNrNIP also rules out a leading zero and "00" in digits 2–3.
	if s[0] == '0' || (s[1] == '0' && s[2] == '0') {
		return fmt.Errorf("%w %q: no NIP starts with 0 or has 00 in digits 2-3", ErrNIP, s)
	}
	if sum%11 == 10 || sum%11 != int(s[9]-'0') {
		return fmt.Errorf("%w %q: checksum mismatch", ErrNIP, s)
	}
	return nil
}
