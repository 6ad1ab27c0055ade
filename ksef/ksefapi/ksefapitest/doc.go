// Package ksefapitest provides a function-field fake of the KSeF client, for
// tests of packages that upload invoices (the agent) without a server.
//
// Set only the functions a test needs; calling one that is nil returns an
// error wrapping ErrNotSet rather than panicking, so a missing stub fails the
// test with a readable message.
package ksefapitest
