package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"testing"
	"time"

	"forkbench/internal/procstat"
	"forkbench/results"
)

// truePath returns /bin/true's path, having run it once: os/exec probes
// for CLONE_PIDFD with a throw-away child on its first use in a process,
// which must not fall in a window whose forks a test counts.
func truePath(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("true")
	if err != nil {
		t.Skipf("no true(1) to spawn: %v", err)
	}
	if err := exec.Command(path).Run(); err != nil {
		t.Fatal(err)
	}
	return path
}

// TestServerSpawns runs a server that forks a process per request. The
// server lives in this process, so this process is the tree's root; other
// tests' leftovers could fork here too, so only a lower bound holds.
func TestServerSpawns(t *testing.T) {
	bin := truePath(t)
	srv, served := countingServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		if err := exec.CommandContext(r.Context(), bin).Run(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		fmt.Fprint(w, "spawned")
	})
	o := Options{Model: results.ModelClosed, Connections: 2, Duration: 200 * time.Millisecond, GeneratorCPUs: 1}
	p, err := Attack(context.Background(), fakeTarget{url: srv.URL, pids: []int{os.Getpid()}}, Request{}, o)
	if err != nil {
		t.Fatal(err)
	}
	if p.Requests == 0 || p.StatusCodes["200"] != p.Requests || p.Requests != uint64(served.Load()) {
		t.Fatalf("Requests = %d, StatusCodes = %v, served %d; want all answered 200", p.Requests, p.StatusCodes, served.Load())
	}
	// Every answer counted in the window had its process forked in the
	// window (there is no warm-up): at least one spawn per answer.
	if s := p.Server; s.Spawns == 0 || s.SpawnsPerRequest < 1 {
		t.Errorf("Spawns = %d (%.3f per answered request); want at least one per request", s.Spawns, s.SpawnsPerRequest)
	}
}

// TestMeterSpawnsExact controls every fork of the window: with the process
// events connector the meter counts exactly those; without it, the
// system-wide fallback counts at least those.
func TestMeterSpawnsExact(t *testing.T) {
	const n = 5
	bin := truePath(t)
	m := newMeter(fakeTarget{pids: []int{os.Getpid()}}, time.Now(), time.Now().Add(time.Hour))
	m.arm(context.Background()) // the window has started: snapshot at once
	for range n {
		if err := exec.Command(bin).Run(); err != nil {
			t.Fatal(err)
		}
	}
	c := m.finish()
	if !c.spawnsOK {
		t.Fatalf("spawns not counted: %+v", c.spawns)
	}
	switch got := c.spawns.Processes; c.spawns.Source {
	case procstat.ForkSourceConnector:
		if c.spawns.Complete() && got != n {
			t.Errorf("spawns = %d; want %d", got, n)
		} else if got > n { // events were lost: the count can only be low
			t.Errorf("spawns = %d with events lost; want at most %d", got, n)
		}
	case procstat.ForkSourceSystemWide:
		t.Logf("connector unavailable (%v): checking the system-wide fallback", c.spawns.Unavailable)
		if got < n {
			t.Errorf("system-wide spawns = %d; want >= %d", got, n)
		}
	default:
		t.Errorf("spawns source = %q", c.spawns.Source)
	}
}
