package till_test

import (
	"fmt"
	"net/http/httptest"

	"github.com/posagent/posagent/internal/metrics"
	"github.com/posagent/posagent/till"
)

func ExampleNewMetricsServer() {
	reg := metrics.NewRegistry()
	reg.Gauge("posagent_backlog", "Invoices not yet accepted by KSeF.").Set(4)
	srv, err := till.NewMetricsServer(reg, till.MetricsOptions{Listen: "0.0.0.0:9464", Token: "metrics-token-0123456789"})
	if err != nil {
		panic(err)
	}
	for _, r := range []struct{ path, auth string }{
		{"/metrics", ""},
		{"/metrics", "Bearer metrics-token-0123456789"},
		{"/v1/status", "Bearer metrics-token-0123456789"},
	} {
		req := httptest.NewRequest("GET", r.path, nil)
		if r.auth != "" {
			req.Header.Set("Authorization", r.auth)
		}
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		fmt.Println(r.path, rec.Code)
	}
	// Output:
	// /metrics 401
	// /metrics 200
	// /v1/status 404
}
