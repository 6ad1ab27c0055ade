package ksef

import "time"

// TokenAuthEnd is the first instant at which a KSeF token no longer
// authenticates: 2027-01-01 00:00 Europe/Warsaw. From then on only
// certificate (XAdES) authentication remains.
//
// Source: § 13 ust. 1 pkt 1 of the Regulation of the Minister of Finance and
// Economy of 12 December 2025 on the use of KSeF (Dz. U. 2025 poz. 1815):
// tokens may authenticate "do dnia 31 grudnia 2026 r."; KIS's answer quoted
// in CIRFMF/ksef-api issue #834 confirms it (the MF proposal to keep tokens
// beyond that date is not law).
var TokenAuthEnd = time.Date(2027, time.January, 1, 0, 0, 0, 0, Warsaw)

// TokenAuthEnded reports whether KSeF tokens have stopped authenticating at t.
func TokenAuthEnded(t time.Time) bool { return !t.Before(TokenAuthEnd) }

// TokenDaysLeft returns the whole Warsaw calendar days from t's date to the
// last day tokens work, 2026-12-31: 26 on 2026-12-05, 0 on 2026-12-31, and
// negative once they have ended.
func TokenDaysLeft(t time.Time) int {
	last := DateOf(TokenAuthEnd).AddDays(-1)
	return int(last.utc().Sub(DateOf(t).utc()) / (24 * time.Hour))
}
