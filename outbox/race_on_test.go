//go:build race

package outbox

// raceDetector reports a -race build: volume tests with one goroutine skip.
const raceDetector = true
