package logx_test

import (
	"fmt"
	"log/slog"
	"os"

	"github.com/posagent/posagent/internal/logx"
)

func fmtType(v any) string { return fmt.Sprintf("%T", v) }

func ExampleRedact() {
	h := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // deterministic output for the example
			}
			return logx.Redact(groups, a)
		},
	})
	slog.New(h).Info("ksef auth", "token", "20251101-EC-ABCDEF", "header", "Bearer abc.def", "nip", "5265877635")
	// Output:
	// level=INFO msg="ksef auth" token=[REDACTED] header="Bearer [REDACTED]" nip=5265877635
}
