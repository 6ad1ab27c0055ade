// Package printertest provides fake printer ports for tests: Recorder
// captures what is written, and Playback replays a script of expected writes
// and the replies they cause.
package printertest
