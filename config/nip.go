package config

// validNIP reports whether s is a 10-digit Polish NIP with a correct check digit
// (weights 6 5 7 2 3 4 5 6 7, sum mod 11; a remainder of 10 is never valid).
func validNIP(s string) bool {
	if len(s) != 10 {
		return false
	}
	weights := [9]int{6, 5, 7, 2, 3, 4, 5, 6, 7}
	sum := 0
	for i := range 10 {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
		if i < 9 {
			sum += weights[i] * int(s[i]-'0')
		}
	}
	check := sum % 11
	return check != 10 && check == int(s[9]-'0')
}
