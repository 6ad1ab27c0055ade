// Package simclock gives a process a clock set to another date, for
// rehearsals and tests: "an offline sale on 23 December" run today.
//
// [Parse] reads the --date flag of posagent demo, ksefsim, run and doctor
// (a Europe/Warsaw wall time), and [Since] turns it into a clock that starts
// there and advances with real time, so timeouts, polls and backoffs behave as
// usual while every date the code derives is that of the rehearsal.
//
// Europe/Warsaw comes from the embedded tzdata: a terminal without zoneinfo
// reads the same instant as a development machine.
package simclock
