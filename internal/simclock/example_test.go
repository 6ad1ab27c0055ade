package simclock_test

import (
	"fmt"

	"github.com/posagent/posagent/internal/simclock"
)

// A rehearsal of the last sale of the year: the clock starts 30 s before
// midnight in Warsaw and runs on from there.
func Example() {
	start, err := simclock.Parse("2026-12-31T23:59:30")
	if err != nil {
		fmt.Println(err)
		return
	}
	now := simclock.Since(start)
	fmt.Println(now().Format("2006-01-02 15:04 MST"))

	day, _ := simclock.Parse("2026-12-24")
	fmt.Println(day.Format("2006-01-02 15:04 MST"), day.UTC().Format("15:04 MST"))

	_, err = simclock.Parse("2027-03-28T02:30")
	fmt.Println(err)
	// Output:
	// 2026-12-31 23:59 CET
	// 2026-12-24 10:00 CET 09:00 UTC
	// simclock: date out of range: "2027-03-28T02:30" does not exist in Europe/Warsaw (the hour the DST switch skips)
}
