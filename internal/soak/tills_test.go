package soak_test

import (
	"flag"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/posagent/posagent/internal/soak"
)

// The posagent binary, built once for the package's soaks.
var (
	binOnce sync.Once
	binDir  string
	binPath string
	binErr  error
)

func posagentBin(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		if binDir, binErr = os.MkdirTemp("", "posagent-soak-"); binErr == nil {
			binPath, binErr = soak.BuildPosagentTo(binDir)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

func TestMain(m *testing.M) {
	flag.Parse()
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// counter returns a function that numbers sales 1, 2, … from any goroutine.
func counter() func() int {
	var mu sync.Mutex
	n := 0
	return func() int {
		mu.Lock()
		defer mu.Unlock()
		n++
		return n
	}
}

// tills are two tills posting sales to a Site until the agent dies under a
// request, or stop is closed.
type tills struct {
	wg      sync.WaitGroup
	stop    chan struct{}
	results chan soak.Acked
	lost    chan pending
	errs    chan error
}

// startTills starts two tills posting sales keyed prefix-NNNNNN-till,
// numbered by next: back to back when every is 0, else one every every per
// till. Each post holds hold (if set) for reading, so a writer can pause them.
func startTills(s *soak.Site, prefix string, next func() int, every time.Duration, hold *sync.RWMutex) *tills {
	tl := &tills{stop: make(chan struct{}), results: make(chan soak.Acked, 4096), lost: make(chan pending, 2), errs: make(chan error, 2)}
	for w := range 2 {
		tl.wg.Go(func() {
			var tick <-chan time.Time
			if every > 0 {
				t := time.NewTicker(every)
				defer t.Stop()
				tick = t.C
			}
			for {
				i := next()
				key := fmt.Sprintf("%s-%06d-%d", prefix, i, w)
				if hold != nil {
					hold.RLock()
				}
				a, ok, err := s.Post(key, i)
				if hold != nil {
					hold.RUnlock()
				}
				switch {
				case err != nil:
					tl.errs <- err
					return
				case !ok:
					tl.lost <- pending{key, i} // the agent died under this request
					return
				}
				tl.results <- a
				if tick != nil {
					select {
					case <-tl.stop:
						return
					case <-tick:
					}
				}
			}
		})
	}
	return tl
}

// collect stops the tills once the agent is killed, and files what they got:
// acknowledgements into acks, sales left without an answer into unanswered.
func (tl *tills) collect(t *testing.T, cycle int, acks map[string]soak.Acked, unanswered *[]pending) {
	t.Helper()
	close(tl.stop)
	tl.wg.Wait()
	close(tl.results)
	close(tl.lost)
	close(tl.errs)
	for err := range tl.errs {
		t.Fatalf("cycle %d: %v", cycle, err)
	}
	for a := range tl.results {
		acks[a.Key] = a
	}
	for u := range tl.lost {
		*unanswered = append(*unanswered, u)
	}
}
