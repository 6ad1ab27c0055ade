package main

import (
	"net"
	"net/url"
	"strings"

	"github.com/posagent/posagent/config"
	"github.com/posagent/posagent/internal/simclock"
)

// dateUsage is the help line of --date.
const dateUsage = "rehearse on this Europe/Warsaw `date`: YYYY-MM-DD (10:00), YYYY-MM-DDTHH:MM or …THH:MM:SS; the clock runs on from there"

// withDate adds --date: parse then puts the whole process (agent, store,
// certificates, KSeF client, simulator, logs) on a clock that starts there.
func (f *flags) withDate() *flags {
	f.StringVar(&f.date, "date", "", dateUsage)
	return f
}

// applyDate sets m.Now from --date, when given.
func (f *flags) applyDate() error {
	if f.date == "" {
		return nil
	}
	start, err := simclock.Parse(f.date)
	if err != nil {
		return usagef("--date: %v", err)
	}
	f.m.Now = simclock.Since(start)
	return nil
}

// requireLoopbackKSeF refuses a configuration whose KSeF or availability
// feed is not on this machine: a rehearsal date is never shown to a real KSeF
// (invoices dated in the future or the past would be real ones there).
func requireLoopbackKSeF(cfg *config.Config) error {
	if base := ksefBase(cfg); !loopbackURL(base) {
		return usagef("--date: ksef.url %q is not a loopback address; a rehearsal date is never sent to a real KSeF "+
			"(run posagent ksefsim --date … and set ksef.url to its URL + \"/v2\")", base)
	}
	if u := availabilityURL(cfg); u != "" && !loopbackURL(u) {
		return usagef("--date: ksef.availability_url %q is not a loopback address; point it at the simulator's URL + \"/latarnia\"", u)
	}
	return nil
}

// loopbackURL reports whether u names a loopback host (127.0.0.0/8, ::1 or
// localhost).
func loopbackURL(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Host != "" && loopbackHost(p.Hostname())
}

func loopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
