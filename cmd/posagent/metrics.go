package main

import (
	"context"
	"math"

	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/ksef/ksefapi"
	"github.com/posagent/posagent/till"
)

// registerStackMetrics adds the series neither the agent nor the till API
// owns: the build, and the agent's clock against KSeF's.
func registerStackMetrics(r *metrics.Registry, client *ksefapi.Client) {
	r.GaugeVec("posagent_build_info", "Always 1; the version label is the running build.", "version").With(Version).Set(1)
	r.GaugeFunc("posagent_clock_skew_seconds", "How far the agent's clock runs ahead of KSeF's (negative: behind), "+
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

// metricsServer builds the [metrics] listener; nil when none is configured.
func metricsServer(sc stackConfig) (*till.MetricsServer, error) {
	if sc.cfg.Metrics.Listen == "" {
		return nil, nil
	}
	return till.NewMetricsServer(sc.metrics, till.MetricsOptions{Listen: sc.cfg.Metrics.Listen, Token: sc.metricsToken,
		Logger: sc.logger.With("component", "metrics")})
}

// runMetrics serves the metrics listener, if any, until ctx ends; done closes
// when it has stopped. A failure (the port taken) is logged, not fatal:
// monitoring must never stop sales, and the fleet's Prometheus then reports
// the agent down.
func (s *stack) runMetrics(ctx context.Context) (done <-chan struct{}) {
	c := make(chan struct{})
	if s.scrape == nil {
		close(c)
		return c
	}
	go func() {
		defer close(c)
		if err := s.scrape.ListenAndServe(ctx); err != nil {
			s.sc.logger.Error("metrics listener stopped; sales go on", "listen", s.sc.cfg.Metrics.Listen, "error", err)
		}
	}()
	return c
}
