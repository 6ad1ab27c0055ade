package main

import (
	"math"

	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/ksef/ksefapi"
)

// registerStackMetrics adds the series neither the agent nor the till API
// owns: the build, and this host's clock against KSeF's.
func registerStackMetrics(r *metrics.Registry, client *ksefapi.Client) {
	r.GaugeVec("posagent_build_info", "Always 1; the version label is the running build.", "version").With(Version).Set(1)
	r.GaugeFunc("posagent_clock_skew_seconds", "How far this host's clock runs ahead of KSeF's (negative: behind), "+
		"from the Date header of KSeF's last answer; NaN until KSeF first answered.", func() float64 {
		if client == nil {
			return math.NaN()
		}
		skew, ok := client.ClockSkew()
		if !ok {
			return math.NaN() // unknown is not "in step": an alert on abs() > x stays quiet
		}
		return skew.Seconds()
	})
}
