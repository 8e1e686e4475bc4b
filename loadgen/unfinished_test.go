package loadgen

import (
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"forkbench/internal/testbin"
	"forkbench/results"
)

// TestUnfinishedCounted: requests in flight when the window ends are
// counted as unfinished, with their age, whatever the engine, including
// those sent in the warm-up that never answer.
func TestUnfinishedCounted(t *testing.T) {
	engines := []struct {
		model  results.Model
		tr     string
		engine string
	}{
		{results.ModelClosed, TransportFastHTTP, ""}, // epoll, closed
		{results.ModelClosed, TransportNetHTTP, ""},  // worker loop
		{results.ModelOpen, TransportFastHTTP, ""},   // epoll, open
		{results.ModelOpen, TransportFastHTTP, EngineVegeta},
	}
	for _, half := range []bool{false, true} {
		for _, e := range engines {
			if half && e.engine == EngineVegeta {
				// vegeta's attacker spreads requests over connections of
				// its own choosing: which of them stall is not fixed.
				continue
			}
			name := fmt.Sprintf("half=%v/%s/%s/%s", half, e.model, e.tr, e.engine)
			t.Run(name, func(t *testing.T) {
				var srv *httptest.Server
				if half {
					srv = testbin.StuckServer(t, 2)
				} else {
					srv = testbin.StuckServer(t, 1)
				}
				o := Options{Model: e.model, Connections: 4, Warmup: 100 * time.Millisecond, Duration: 200 * time.Millisecond,
					Timeout: time.Second, Transport: e.tr, Engine: e.engine}
				if e.model == results.ModelOpen {
					o.Rate = 100
				}
				p := attack(t, srv.URL, o)
				if p.Unfinished == 0 {
					t.Fatalf("Unfinished = 0 (requests %d, answered %d, errors %v); want the stuck requests counted", p.Requests, p.Answered, p.Errors)
				}
				if p.Stuck == 0 {
					t.Errorf("Stuck = 0 of %d unfinished; want the stalled connections", p.Unfinished)
				}
				if p.UnfinishedMaxAgeNs <= 0 {
					t.Errorf("UnfinishedMaxAgeNs = %d; want the oldest's age", p.UnfinishedMaxAgeNs)
				}
				if got := p.Unanswered(); got == half {
					t.Errorf("Unanswered() = %v with answered %d; want %v", got, p.Answered, !half)
				}
				if !half && p.UnfinishedMaxAgeNs < int64(200*time.Millisecond) {
					t.Errorf("oldest unfinished %v; want ≥ the 200ms window (sent in the warm-up)", time.Duration(p.UnfinishedMaxAgeNs))
				}
			})
		}
	}
}
