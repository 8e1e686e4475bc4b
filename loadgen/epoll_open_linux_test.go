package loadgen

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"forkbench/results"
)

// startOpenT starts the open engine and fails the test if it has not
// stopped by the end.
func startOpenT(t *testing.T, rawURL string, sched OpenSchedule, d, timeout time.Duration) (*epollLoop, *epollRun, time.Time) {
	t.Helper()
	run := &epollRun{}
	origin := time.Now()
	l, err := startEpollOpen(hostOf(t, rawURL), getRequest(t, rawURL, "/"), 0, sched, origin, d, timeout, run.deliver)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		l.Stop()
		<-l.Done()
	})
	return l, run, origin
}

// checkOpenRun checks what every open run must hold: each slot delivered
// at most once, its intended time its slot's, and no request sent before
// it was due or after the end.
func checkOpenRun(t *testing.T, run *epollRun, sched OpenSchedule, origin time.Time, d time.Duration) {
	t.Helper()
	seen := map[uint64]bool{}
	for i, r := range run.all() {
		intended := run.intended[i]
		if seen[r.Seq] {
			t.Fatalf("slot %d delivered twice", r.Seq)
		}
		seen[r.Seq] = true
		if !sched.Poisson && !intended.Equal(origin.Add(sched.Due(r.Seq))) {
			t.Fatalf("slot %d intended at %v; want %v", r.Seq, intended.Sub(origin), sched.Due(r.Seq))
		}
		if r.Code != 0 && r.Timestamp.Before(intended) {
			t.Fatalf("slot %d sent %v before it was due", r.Seq, intended.Sub(r.Timestamp))
		}
		if intended.Sub(origin) >= d {
			t.Fatalf("slot %d due at %v, after the %v run", r.Seq, intended.Sub(origin), d)
		}
	}
}

// TestEpollOpenCountsExactly checks that every slot due in the run is
// either delivered once, answered as the server saw it, or counted as
// unsent; for uniform and Poisson arrivals.
func TestEpollOpenCountsExactly(t *testing.T) {
	for _, poisson := range []bool{false, true} {
		t.Run(fmt.Sprintf("poisson=%v", poisson), func(t *testing.T) {
			srv, count := countingServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
				_, _ = io.WriteString(w, "hello")
			})
			sched := OpenSchedule{Rate: 2000, Conns: 4, Poisson: poisson, Seed: 3}
			d := 300 * time.Millisecond
			l, run, origin := startOpenT(t, srv.URL, sched, d, 5*time.Second)
			waitDone(t, l, 10*time.Second)
			rs := run.all()
			if len(rs) == 0 || int64(len(rs)) != count.Load() {
				t.Fatalf("%d results, server counted %d", len(rs), count.Load())
			}
			checkOpenRun(t, run, sched, origin, d)
			// The slots due before d, from the schedule itself.
			var due uint64
			for c := range sched.Conns {
				cs := newConnSchedule(&sched, c)
				due += cs.countBefore(d)
			}
			if got := uint64(len(rs)) + l.Unsent(); got != due {
				t.Errorf("%d delivered + %d unsent = %d; %d slots were due", len(rs), l.Unsent(), got, due)
			}
			if !poisson && due != 600 {
				t.Errorf("%d uniform slots due in 300ms at 2000/s; want 600", due)
			}
			for _, r := range rs {
				if r.Code != 200 || r.BytesIn != 5 || r.Error != "" {
					t.Fatalf("unexpected result %+v", r)
				}
			}
		})
	}
}

// stallServer answers at once except during one stall: the first request
// that arrives after the server has run for after starts it, and every
// request that arrives while it lasts is held until it ends (a GC pause, a
// lock).
type stallServer struct {
	*httptest.Server
	mu         sync.Mutex
	start, end time.Time
}

func newStallServer(t *testing.T, after time.Duration, stall time.Duration) *stallServer {
	s := &stallServer{}
	origin := time.Now()
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		now := time.Now()
		s.mu.Lock()
		if s.start.IsZero() && now.Sub(origin) >= after {
			s.start, s.end = now, now.Add(stall)
		}
		end := s.end
		s.mu.Unlock()
		if now.Before(end) {
			time.Sleep(end.Sub(now)) // the stall being measured, not a wait for readiness
		}
		_, _ = io.WriteString(w, "ok")
	}))
	t.Cleanup(s.Close)
	return s
}

func (s *stallServer) window() (time.Time, time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.start, s.end
}

// TestEpollOpenStall is wrk2's own check of coordinated omission: a server
// that stalls for X holds every request scheduled during the stall until
// it ends, so each is answered after the stall and its corrected latency
// is at least the rest of the stall from its intended time (X for the
// first), although the service times of those sent late are short.
func TestEpollOpenStall(t *testing.T) {
	const stall = 150 * time.Millisecond
	srv := newStallServer(t, 100*time.Millisecond, stall)
	sched := OpenSchedule{Rate: 1000, Conns: 4}
	d := time.Second
	l, run, origin := startOpenT(t, srv.URL, sched, d, 5*time.Second)
	waitDone(t, l, 10*time.Second)
	checkOpenRun(t, run, sched, origin, d)
	start, end := srv.window()
	if start.IsZero() {
		t.Fatal("the server never stalled")
	}
	var during, late int
	var maxCorrected time.Duration
	for i, r := range run.all() {
		intended := run.intended[i]
		done := r.Timestamp.Add(r.Latency)
		corrected := done.Sub(intended)
		maxCorrected = max(maxCorrected, corrected)
		if intended.Before(start) || !intended.Before(end) {
			continue
		}
		during++
		if done.Before(end) {
			t.Errorf("slot %d, due %v into the stall, answered %v before its end", r.Seq, intended.Sub(start), end.Sub(done))
		}
		if corrected < end.Sub(intended) {
			t.Errorf("slot %d: corrected latency %v; want at least %v", r.Seq, corrected, end.Sub(intended))
		}
		if r.Timestamp.Sub(intended) > stall/3 {
			late++ // sent behind schedule: its connection was held
		}
	}
	if want := int(stall.Seconds() * sched.Rate * 0.9); during < want {
		t.Errorf("%d requests scheduled during the %v stall; want at least %d", during, stall, want)
	}
	if maxCorrected < stall-time.Duration(float64(time.Second)/sched.Rate) {
		t.Errorf("max corrected latency %v; want about the %v stall", maxCorrected, stall)
	}
	if late == 0 {
		t.Error("no request scheduled during the stall was sent late")
	}
}

// TestAttackOpenStall is the same through Attack: the point's corrected
// latency shows the stall, its service time and send lag tell it apart.
func TestAttackOpenStall(t *testing.T) {
	const stall = 150 * time.Millisecond
	srv := newStallServer(t, 100*time.Millisecond, stall)
	o := Options{Model: results.ModelOpen, Rate: 1000, Connections: 4, Duration: 500 * time.Millisecond}
	p := attack(t, srv.URL, o)
	if p.Engine != EngineEpoll || p.Corrected == nil || p.SendLag == nil {
		t.Fatalf("Engine %q, Corrected %v, SendLag %v", p.Engine, p.Corrected, p.SendLag)
	}
	if p.Corrected.MaxNs < int64(stall)-int64(time.Millisecond) {
		t.Errorf("Corrected.Max = %v; want about the %v stall", time.Duration(p.Corrected.MaxNs), stall)
	}
	if p.Corrected.P99Ns < int64(stall/2) {
		// The slots due in the stall's first half, 75 of 500, waited
		// at least half of it.
		t.Errorf("Corrected.P99 = %v; want at least %v", time.Duration(p.Corrected.P99Ns), stall/2)
	}
	if p.SendLag.MaxNs < int64(stall/2) || p.SendLag.Count != int64(p.Requests) {
		t.Errorf("SendLag max %v over %d requests; want at least %v over %d", time.Duration(p.SendLag.MaxNs), p.SendLag.Count, stall/2, p.Requests)
	}
	if p.Corrected.P99Ns <= p.Latency.P99Ns {
		t.Errorf("corrected p99 %v not above the service time's %v", time.Duration(p.Corrected.P99Ns), time.Duration(p.Latency.P99Ns))
	}
}

// TestAttackOpenOverload offers a deliberately slow target twice what it
// serves: the generator keeps to its connections and one request in
// flight on each, the achieved rate stays at the target's capacity, and
// the point is saturated, behind schedule, and not blamed on the
// generator.
//
// The target's capacity on these connections is measured by the target
// itself over the same run: connections over its mean time per request
// (its 50ms of service, plus however late its timers fire on a busy
// machine), which a generator that keeps every connection busy reaches;
// one that leaves connections idle, or collapses, does not.
func TestAttackOpenOverload(t *testing.T) {
	const conns, service = 4, 50 * time.Millisecond
	var active, maxActive, accepted, served, busyNs atomic.Int64
	slow := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		a := active.Add(1)
		defer active.Add(-1)
		for m := maxActive.Load(); a > m && !maxActive.CompareAndSwap(m, a); m = maxActive.Load() {
		}
		began := time.Now()
		time.Sleep(service) // the target's service time
		_, _ = io.WriteString(w, "ok")
		busyNs.Add(int64(time.Since(began)))
		served.Add(1)
	}))
	slow.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			accepted.Add(1)
		}
	}
	slow.Start()
	t.Cleanup(slow.Close)
	o := Options{Model: results.ModelOpen, Rate: 2 * conns / service.Seconds(), Connections: conns, Duration: 1500 * time.Millisecond, Warmup: 200 * time.Millisecond}
	p, err := Attack(context.Background(), fakeTarget{url: slow.URL}, Request{}, o)
	if err != nil {
		t.Fatal(err)
	}
	capacity := conns / (time.Duration(busyNs.Load() / served.Load())).Seconds()
	if !p.Saturated || p.GeneratorLimited {
		t.Errorf("Saturated %v, GeneratorLimited %v; want saturated by the target", p.Saturated, p.GeneratorLimited)
	}
	if ratio := p.AchievedRate / capacity; ratio < 0.8 || ratio > 1.2 {
		t.Errorf("achieved %.0f req/s offered %.0f: %.2f of the target's capacity of %.0f; want within 20%%", p.AchievedRate, o.Rate, ratio, capacity)
	}
	if n := accepted.Load(); n > conns {
		t.Errorf("the target accepted %d connections; want at most %d", n, conns)
	}
	if m := maxActive.Load(); m > conns {
		t.Errorf("%d requests in flight at once; want at most %d", m, conns)
	}
	if p.Unsent == 0 || p.SendLag.P50Ns < int64(100*time.Millisecond) {
		t.Errorf("Unsent %d, send lag p50 %v; want a growing backlog", p.Unsent, time.Duration(p.SendLag.P50Ns))
	}
}

// TestEpollOpenStop stops an open run midway: it stops promptly, every
// request sent is delivered once, and no file descriptor or goroutine is
// left behind.
func TestEpollOpenStop(t *testing.T) {
	srv, count := countingServer(t, func(_ int64, w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "ok")
	})
	srv.Client().CloseIdleConnections()
	held := heldResources(t)

	run := &epollRun{}
	sched := OpenSchedule{Rate: 500, Conns: 8}
	l, err := startEpollOpen(hostOf(t, srv.URL), getRequest(t, srv.URL, "/"), 0, sched, time.Now(), time.Hour, 5*time.Second, run.deliver)
	if err != nil {
		t.Fatal(err)
	}
	if !eventually(10*time.Second, func() bool { return count.Load() >= 50 }) {
		t.Fatalf("%d requests in 10s at 500/s", count.Load())
	}
	start := time.Now()
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(l.Stop)
	}
	wg.Wait()
	waitDone(t, l, 5*time.Second)
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("Stop took %v", took)
	}
	rs := run.all()
	if int64(len(rs)) != count.Load() {
		t.Fatalf("%d results, server counted %d", len(rs), count.Load())
	}
	srv.CloseClientConnections()
	held.checkReleased(t)
}

// TestEpollOpenRefused checks that against a refusing target each slot
// fails once, at its time, as refused: no spinning re-dial.
func TestEpollOpenRefused(t *testing.T) {
	u := closedPortURL(t)
	sched := OpenSchedule{Rate: 500, Conns: 2}
	d := 200 * time.Millisecond
	l, run, origin := startOpenT(t, u, sched, d, time.Second)
	waitDone(t, l, 10*time.Second)
	checkOpenRun(t, run, sched, origin, d)
	rs := run.all()
	if got := uint64(len(rs)) + l.Unsent(); got != 100 {
		t.Errorf("%d failed + %d unsent; want the 100 slots due", len(rs), l.Unsent())
	}
	for _, r := range rs {
		if kind := ClassifyError(r.Code, r.Error); kind != ErrKindRefused {
			t.Fatalf("error %q: kind %q; want refused", r.Error, kind)
		}
	}
}
