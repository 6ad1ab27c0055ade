package testutil

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"testing"
	"time"
)

// RepoRoot returns the absolute path of the repository root.
func RepoRoot() string {
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		panic("testutil: cannot locate source file")
	}
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// Official returns the path of an official data file under the repository's
// testdata folder, e.g. Official("ksef/schema/schemat_FA(3)_v1-0E.xsd").
func Official(rel string) string {
	return filepath.Join(RepoRoot(), "testdata", filepath.FromSlash(rel))
}

// InCI reports whether the tests run under CI (CI=true).
func InCI() bool { return os.Getenv("CI") == "true" }

// NoExecEnv names the variable a test stage sets to 1 when its test binaries
// run under an emulator that cannot start other programs: qemu-i386 keeps one
// GDT for all of a process's threads, so the SIGCHLD of a child process
// returns into a thread with another thread's TLS and the Go runtime crashes.
// RequireTool then skips, whatever CI says: the stage chose to leave those
// tests to the native passes.
const NoExecEnv = "POSAGENT_TEST_NOEXEC"

// RequireTool returns the path of an external tool. When the tool is missing the
// test fails under CI and skips elsewhere.
func RequireTool(t testing.TB, name string) string {
	t.Helper()
	if os.Getenv(NoExecEnv) == "1" {
		t.Skipf("%s=1: this run cannot start %s (the test binary runs under an emulator that cannot run child processes); the amd64 pass runs it", NoExecEnv, name)
	}
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if InCI() {
		t.Fatalf("required tool %q is missing (CI=true): install it with scripts/test.sh as root", name)
	}
	t.Skipf("tool %q not installed; run scripts/test.sh as root to install it", name)
	return ""
}

// XMLLintSchema validates the XML file at path against an XSD with xmllint and
// fails the test with xmllint's output when it does not validate.
func XMLLintSchema(t testing.TB, xsd, path string) {
	t.Helper()
	bin := RequireTool(t, "xmllint")
	out, err := exec.Command(bin, "--noout", "--nonet", "--schema", xsd, path).CombinedOutput()
	if err != nil {
		t.Fatalf("xmllint %s: %v\n%s", filepath.Base(path), err, out)
	}
}

// ReportLatency reports the median and 99th percentile of a benchmark's
// per-operation latencies as p50-ns and p99-ns. It sorts lat.
func ReportLatency(b *testing.B, lat []time.Duration) {
	if len(lat) == 0 {
		return
	}
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
	b.ReportMetric(float64(lat[len(lat)*99/100].Nanoseconds()), "p99-ns")
}
