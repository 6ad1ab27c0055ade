package outbox_test

import (
	"bufio"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/posagent/posagent/outbox"
	"github.com/posagent/posagent/outbox/outboxtest"
)

const crashEnv = "OUTBOX_CRASH_CHILD"

var crashSeries = outbox.Series{Terminal: "C", Format: "{terminal}/{seq:06}"}

func TestMain(m *testing.M) {
	if path := os.Getenv(crashEnv); path != "" {
		crashChild(path)
		return
	}
	os.Exit(m.Run())
}

// crashChild issues sales until it is killed. It prints "number hash" for each
// invoice only after Issue (and so the fsync'd commit) has returned, and moves some
// invoices along the lifecycle so that the kill also lands in transitions.
func crashChild(path string) {
	s, err := outbox.Open(path, &outbox.Options{Timeout: 10 * time.Second})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child open:", err)
		os.Exit(2)
	}
	fmt.Fprintln(os.Stdout, "ready")
	for i := 0; ; i++ {
		req := outboxtest.Request(fmt.Sprintf("%d-%d", os.Getpid(), i), t0)
		req.Series = crashSeries
		req.Build = outboxtest.Build(rand.IntN(8<<10), t0.Add(time.Hour))
		inv, _, err := s.Issue(ctx, req)
		if err != nil {
			fmt.Fprintln(os.Stderr, "child issue:", err)
			os.Exit(3)
		}
		fmt.Fprintf(os.Stdout, "%s %s\n", inv.Number, inv.Hash) // one write(2), atomic on a pipe
		if i%3 == 0 {
			_ = s.MarkSending(ctx, inv.ID, "SES")
		}
		if i%5 == 0 {
			_ = s.MarkPrinted(ctx, inv.PrintJobID)
		}
	}
}

func TestCrashKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("kill -9 crash test skipped in -short mode")
	}
	cycles := 50
	path := filepath.Join(t.TempDir(), "outbox.db")
	reported := map[string]string{} // number -> hash
	start := time.Now()
	for c := range cycles {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path)
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go readLines(out, lines)
		// Kill at a random moment of the issue loop: after Open (slow under -race),
		// sometimes before the first commit, mostly in the middle of one.
		select {
		case <-lines: // "ready"
		case <-time.After(10 * time.Second):
			t.Fatalf("cycle %d: child not ready", c)
		}
		time.Sleep(time.Duration(5_000+rand.IntN(55_000)) * time.Microsecond)
		if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		var got []string
		for l := range lines {
			got = append(got, l)
		}
		err = cmd.Wait()
		if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
			t.Fatalf("cycle %d: child did not die by SIGKILL: %v", c, err)
		}
		for _, l := range got {
			num, hash, _ := strings.Cut(l, " ")
			if _, dup := reported[num]; dup {
				t.Fatalf("cycle %d: number %s reported twice", c, num)
			}
			reported[num] = hash
		}

		s, err := outbox.Open(path, nil)
		if err != nil {
			t.Fatalf("cycle %d: reopen: %v", c, err)
		}
		for num, hash := range reported {
			inv, err := s.ByNumber(ctx, num)
			if err != nil || inv.Hash.String() != hash || outbox.HashOf(inv.XML).String() != hash {
				t.Fatalf("cycle %d: reported %s lost or changed: %v", c, num, err)
			}
		}
		if err := s.Check(ctx); err != nil {
			t.Fatalf("cycle %d: %v", c, err)
		}
		for _, id := range s.Recovered().Sending {
			if inv, err := s.Get(ctx, id); err != nil || inv.Upload != outbox.UploadSending {
				t.Fatalf("cycle %d: recovered %s: %+v, %v", c, id, inv, err)
			}
		}
		// At most the one invoice committed but not yet reported may be extra.
		n, _ := s.Stats(ctx, t0)
		total := 0
		for _, k := range n.Upload {
			total += k
		}
		if total < len(reported) || total > len(reported)+c+1 {
			t.Fatalf("cycle %d: %d invoices stored, %d reported", c, total, len(reported))
		}
		s.Close()
	}
	t.Logf("%d kill -9 cycles in %s; %d invoices reported and all found", cycles, time.Since(start).Round(time.Millisecond), len(reported))
	if len(reported) < cycles/2 {
		t.Errorf("only %d invoices reported over %d cycles: kills came too early to test much", len(reported), cycles)
	}
}

// readLines sends each complete line of r and closes out at EOF. A fragment
// without its newline was never fully reported, so it is dropped.
func readLines(r io.Reader, out chan<- string) {
	defer close(out)
	br := bufio.NewReader(r)
	for {
		l, err := br.ReadString('\n')
		if err != nil {
			return
		}
		out <- strings.TrimSuffix(l, "\n")
	}
}
