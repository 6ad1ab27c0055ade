package bench_test

import (
	"cmp"
	"context"
	"flag"
	"fmt"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/soak"
	"github.com/posagent/posagent/ksef/ksefsim"
)

var (
	drainN     = flag.Int("drain.n", 200, "invoices in the backlog (make bench: 10000)")
	drainMode  = flag.String("drain.mode", "batch", "upload path: batch or interactive")
	drainScale = flag.Float64("drain.scale", 1, "simulator time scale: rate-limit windows are divided by it")
	drainMax   = flag.Duration("drain.max", 10*time.Minute, "give up after this long")
)

// TestDrain fills the store with a backlog, starts `posagent run` against
// the simulator with its rate limits on, and measures how long the backlog
// takes to be accepted and the agent's resident memory meanwhile. With the
// defaults it is a quick proof of the rig; make bench runs 10 000.
func TestDrain(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	sim, err := ksefsim.New(&ksefsim.Options{Tokens: map[string]string{soak.KSeFToken: soak.SellerNIP}, TimeScale: *drainScale})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	threshold := 100
	if *drainMode == "interactive" {
		// Above the backlog, so the agent starts interactive and batches
		// only after a 429. The configuration allows at most 10 000 (one
		// batch session's limit), hence make bench's backlog of 9 999.
		if *drainN >= 10000 {
			t.Fatalf("interactive mode needs -drain.n below 10000 (policy.batch_threshold's maximum), got %d", *drainN)
		}
		threshold = *drainN + 1
	}
	s := soak.NewSite(t, soak.BuildPosagent(t), soak.SiteOptions{KSeFURL: srv.URL, BatchThreshold: threshold, LogLevel: "info", CapMB: 1024})
	start := time.Now()
	if _, err := soak.Prefill(context.Background(), s.StorePath(), s.Cert, *drainN, nil); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(s.StorePath())
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("prefill: %d invoices in %v, store %.1f MiB", *drainN, time.Since(start).Round(time.Millisecond), float64(fi.Size())/(1<<20))

	p := s.Start()
	drainStart := time.Now()
	var peak soak.Memory // HWM, and the sampled peaks of each kind
	var byFile map[string]int64
	for {
		if m, err := p.Memory(); err == nil {
			if m.File > peak.File {
				if f, err := fileMappings(p.Cmd.Process.Pid); err == nil {
					byFile = f // where the file-backed peak sits
				}
			}
			peak = soak.Memory{HWM: max(peak.HWM, m.HWM), Anon: max(peak.Anon, m.Anon), File: max(peak.File, m.File), Shmem: max(peak.Shmem, m.Shmem)}
		}
		n, err := s.Backlog()
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
		if time.Since(drainStart) > *drainMax {
			t.Fatalf("%d of %d invoices still queued after %v\n%s", n, *drainN, *drainMax, s.Tail())
		}
		time.Sleep(100 * time.Millisecond)
	}
	took := time.Since(drainStart)
	if got := len(sim.Invoices()); got != *drainN {
		t.Fatalf("simulator holds %d invoices, want %d", got, *drainN)
	}
	time.Sleep(3 * time.Second)
	idle, err := p.Memory()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(t); err != nil {
		t.Errorf("posagent run after SIGTERM: %v", err)
	}
	batches := strings.Count(string(s.Logs()), `"msg":"batch session"`)
	t.Logf("drain: %d invoices, %s, time scale %g: %v wall (%.0f invoices/s), %d batch sessions; peak RSS %.1f MiB; RSS 3 s after %.1f MiB",
		*drainN, *drainMode, *drainScale, took.Round(time.Millisecond), float64(*drainN)/took.Seconds(), batches,
		float64(peak.HWM)/1024, float64(idle.RSS)/1024)
	t.Logf("drain: sampled peaks every 100 ms: RssAnon %.1f MiB, RssFile %.1f MiB (mapped store and binary), RssShmem %.1f MiB",
		float64(peak.Anon)/1024, float64(peak.File)/1024, float64(peak.Shmem)/1024)
	names := slices.SortedFunc(maps.Keys(byFile), func(a, b string) int { return cmp.Compare(byFile[b], byFile[a]) })
	for _, n := range names[:min(len(names), 4)] {
		t.Logf("drain: at the RssFile peak, %s: %.1f MiB resident", n, float64(byFile[n])/1024)
	}
}

// fileMappings sums the resident KiB of a process's mappings by the file
// they map, from /proc/PID/smaps.
func fileMappings(pid int) (map[string]int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/smaps", pid))
	if err != nil {
		return nil, err
	}
	out := map[string]int64{}
	file := ""
	for _, l := range strings.Split(string(b), "\n") {
		f := strings.Fields(l)
		switch {
		case len(f) >= 5 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":"):
			file = ""
			if len(f) >= 6 && strings.HasPrefix(f[5], "/") {
				file = filepath.Base(f[5])
			}
		case file != "" && len(f) >= 2 && f[0] == "Rss:":
			v, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return nil, fmt.Errorf("smaps of %d: %w", pid, err)
			}
			out[file] += v
		}
	}
	return out, nil
}

// TestIdleRSS measures the resident memory of an agent with an empty store,
// 5 s after it came up.
func TestIdleRSS(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the real binary")
	}
	sim, err := ksefsim.New(&ksefsim.Options{Tokens: map[string]string{soak.KSeFToken: soak.SellerNIP}})
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(sim.Handler())
	t.Cleanup(srv.Close)
	s := soak.NewSite(t, soak.BuildPosagent(t), soak.SiteOptions{KSeFURL: srv.URL, LogLevel: "info"})
	p := s.Start()
	time.Sleep(5 * time.Second)
	m, err := p.Memory()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := p.Wait(t); err != nil {
		t.Errorf("posagent run after SIGTERM: %v", err)
	}
	t.Logf("idle RSS: %.1f MiB (peak %.1f MiB)", float64(m.RSS)/1024, float64(m.HWM)/1024)
}
