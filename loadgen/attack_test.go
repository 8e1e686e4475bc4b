package loadgen

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"forkbench/internal/testbin"
	"forkbench/results"
)

func TestAttackCountsExactly(t *testing.T) {
	tests := []struct {
		model      results.Model
		tr, engine string
		wantEngine string
	}{
		{results.ModelClosed, TransportFastHTTP, "", "epoll"},
		{results.ModelClosed, TransportNetHTTP, "", "loop/nethttp"},
		{results.ModelOpen, TransportFastHTTP, "", "epoll"},
		{results.ModelOpen, TransportFastHTTP, EngineVegeta, "vegeta/fasthttp"},
		{results.ModelOpen, TransportNetHTTP, "", "vegeta/nethttp"},
	}
	for _, tc := range tests {
		model, tr := tc.model, tc.tr
		t.Run(string(model)+"/"+tr+"/"+tc.engine, func(t *testing.T) {
			srv, served := countingServer(t, func(n int64, w http.ResponseWriter, r *http.Request) {
				if n%3 == 0 {
					http.Error(w, "every third", http.StatusInternalServerError)
					return
				}
				fmt.Fprint(w, "hello")
			})
			o := Options{Model: model, Connections: 2, Duration: 300 * time.Millisecond, Transport: tr, Engine: tc.engine, Timeout: 5 * time.Second}
			if model == results.ModelOpen {
				o.Rate = 200
			}
			p, err := Attack(context.Background(), fakeTarget{url: srv.URL}, Request{Endpoint: "e", Path: "/x?y=1"}, o)
			if err != nil {
				t.Fatal(err)
			}
			n := uint64(served.Load())
			if p.Requests != n || n == 0 {
				t.Fatalf("Requests = %d; server saw %d", p.Requests, n)
			}
			want5xx, want200 := n/3, n-n/3
			if p.StatusCodes["500"] != want5xx || p.StatusCodes["200"] != want200 || len(p.StatusCodes) != 2 {
				t.Errorf("StatusCodes = %v; want 200:%d 500:%d", p.StatusCodes, want200, want5xx)
			}
			if p.Errors[ErrKindStatus5xx] != want5xx || len(p.Errors) != 1 {
				t.Errorf("Errors = %v; want status_5xx:%d", p.Errors, want5xx)
			}
			if p.ErrorLatency == nil || uint64(p.ErrorLatency.Count) != want5xx || uint64(p.Latency.Count) != want200 {
				t.Errorf("Latency.Count = %d, ErrorLatency = %+v; want %d served and %d failed apart", p.Latency.Count, p.ErrorLatency, want200, want5xx)
			}
			if p.Stuck != 0 || p.Unanswered() {
				t.Errorf("Stuck = %d, Unanswered = %v on a healthy target; want 0, false", p.Stuck, p.Unanswered())
			}
			if p.Successes != want200 {
				t.Errorf("Successes = %d; want %d", p.Successes, want200)
			}
			var tl uint64
			for _, b := range p.Timeline {
				tl += b.Requests
			}
			if tl != n {
				t.Errorf("timeline holds %d requests; want %d", tl, n)
			}
			if p.Target != "fake" || p.Endpoint != "e" || p.Method != "GET" || p.Path != "/x?y=1" || p.Model != model || p.Connections != 2 {
				t.Errorf("labels = %q %q %q %q %q %d", p.Target, p.Endpoint, p.Method, p.Path, p.Model, p.Connections)
			}
			if p.DurationNs != int64(300*time.Millisecond) {
				t.Errorf("DurationNs = %d; want %d", p.DurationNs, 300*time.Millisecond)
			}
			if p.BytesIn == 0 || p.BytesOut != 0 {
				t.Errorf("BytesIn, BytesOut = %d, %d; want >0, 0", p.BytesIn, p.BytesOut)
			}
			if p.Engine != tc.wantEngine {
				t.Errorf("Engine = %q; want %q", p.Engine, tc.wantEngine)
			}
			if (p.Corrected != nil) != (model == results.ModelOpen) || (p.SendLag != nil) != (model == results.ModelOpen) {
				t.Errorf("Corrected = %v, SendLag = %v for the %s model", p.Corrected, p.SendLag, model)
			}
			if p.Corrected != nil && (p.Corrected.Count != int64(want200) || p.SendLag.Count != int64(n)) {
				t.Errorf("Corrected.Count = %d, SendLag.Count = %d; want %d served, %d sent", p.Corrected.Count, p.SendLag.Count, want200, n)
			}
			if model == results.ModelOpen && p.Requests > 61 {
				t.Errorf("open model at 200/s for 300ms sent %d requests; want at most 61", p.Requests)
			}
		})
	}
}

func TestAttackWarmupNotCounted(t *testing.T) {
	srv, served := helloServer(t)
	o := Options{Model: results.ModelOpen, Rate: 100, Connections: 2, Warmup: 200 * time.Millisecond, Duration: 200 * time.Millisecond}
	p := attack(t, srv.URL, o)
	n := uint64(served.Load())
	if p.Requests == 0 || p.Requests >= n {
		t.Errorf("Requests = %d, server saw %d; want the warm-up's requests left out", p.Requests, n)
	}
	if p.StatusCodes["200"] != p.Requests {
		t.Errorf("StatusCodes = %v; want 200:%d", p.StatusCodes, p.Requests)
	}
}

func TestAttackRefused(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			o := Options{Model: results.ModelOpen, Rate: 100, Connections: 2, Duration: 200 * time.Millisecond, Transport: tr}
			p, err := Attack(context.Background(), fakeTarget{url: closedPortURL(t)}, Request{}, o)
			if err != nil {
				t.Fatal(err)
			}
			if p.Requests == 0 || p.Errors[ErrKindRefused] != p.Requests || len(p.Errors) != 1 {
				t.Errorf("Requests = %d, Errors = %v; want all refused", p.Requests, p.Errors)
			}
			if p.Successes != 0 || len(p.StatusCodes) != 0 || p.AchievedRate != 0 {
				t.Errorf("Successes = %d, StatusCodes = %v, AchievedRate = %g; want none", p.Successes, p.StatusCodes, p.AchievedRate)
			}
			if !p.Saturated {
				t.Error("Saturated = false with nothing answered")
			}
		})
	}
}

func TestAttackTimeout(t *testing.T) {
	for _, model := range []results.Model{results.ModelOpen, results.ModelClosed} {
		for _, tr := range transports {
			t.Run(string(model)+"/"+tr, func(t *testing.T) {
				srv := testbin.StuckServer(t, 1)
				o := Options{Model: model, Connections: 4, Duration: 200 * time.Millisecond, Timeout: 100 * time.Millisecond, Transport: tr}
				if model == results.ModelOpen {
					o.Rate = 20
				}
				p := attack(t, srv.URL, o)
				if p.Requests == 0 || p.Errors[ErrKindTimeout] != p.Requests || len(p.Errors) != 1 {
					t.Errorf("Requests = %d, Errors = %v; want all timeouts", p.Requests, p.Errors)
				}
				// Failed requests' latency is kept apart from the served.
				if p.Latency.Count != 0 || (p.Corrected != nil && p.Corrected.Count != 0) {
					t.Errorf("Latency.Count = %d with every request failed; want 0 (errors kept apart)", p.Latency.Count)
				}
				el := p.ErrorLatency
				if el == nil || uint64(el.Count) != p.Requests {
					t.Fatalf("ErrorLatency = %+v; want %d samples", el, p.Requests)
				}
				if min := int64(100 * time.Millisecond); el.MinNs < min*99/100 {
					t.Errorf("min latency %v of a timed-out request; want >= the timeout", time.Duration(el.MinNs))
				}
				// The timeout ends the request, not the window's end or the
				// server: FastTransport enforces it to within an eighth,
				// but a loaded machine running -race delays the timer by
				// tens of ms (161 ms seen in CI), so this asks only that it
				// fired within a few timeouts.
				if max := int64(100 * time.Millisecond); el.MaxNs > max*3 {
					t.Errorf("max latency %v of a timed-out request; want about the timeout", time.Duration(el.MaxNs))
				}
				// Closed model: each of the 4 workers waits out its
				// timeout before sending again, so 200ms hold at most
				// 2 rounds of 4.
				if model == results.ModelClosed && p.Requests > 8 {
					t.Errorf("closed model sent %d requests in 200ms with 4 connections and a 100ms timeout; want at most 8", p.Requests)
				}
			})
		}
	}
}

func TestAttackSendsBodyAndHeaders(t *testing.T) {
	const body = "name=forkbench&n=1"
	for _, tr := range transports {
		t.Run(tr, func(t *testing.T) {
			srv, served := countingServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
				got, _ := io.ReadAll(r.Body)
				switch {
				case r.Method != http.MethodPost, string(got) != body,
					r.Header.Get("X-Bench") != "yes", r.Header.Get("Content-Type") != "application/x-www-form-urlencoded",
					r.Header.Get("User-Agent") != userAgent, r.URL.RawQuery != "q=1":
					http.Error(w, fmt.Sprintf("%s %q %v", r.Method, got, r.Header), http.StatusBadRequest)
				default:
					fmt.Fprint(w, "ok")
				}
			})
			req := Request{
				Method: http.MethodPost, Path: "/form?q=1", Body: []byte(body),
				Header: http.Header{"X-Bench": {"yes"}, "Content-Type": {"application/x-www-form-urlencoded"}},
			}
			o := Options{Model: results.ModelClosed, Connections: 1, Duration: 100 * time.Millisecond, Transport: tr}
			p, err := Attack(context.Background(), fakeTarget{url: srv.URL}, req, o)
			if err != nil {
				t.Fatal(err)
			}
			if p.Requests == 0 || p.Successes != p.Requests || p.Requests != uint64(served.Load()) {
				t.Errorf("Requests = %d, Successes = %d, Errors = %v, server saw %d; want all accepted", p.Requests, p.Successes, p.Errors, served.Load())
			}
			if want := p.Requests * uint64(len(body)); p.BytesOut != want {
				t.Errorf("BytesOut = %d; want %d", p.BytesOut, want)
			}
			if want := p.Requests * 2; p.BytesIn != want {
				t.Errorf("BytesIn = %d; want %d", p.BytesIn, want)
			}
		})
	}
}

func TestAttackCancel(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, served := countingServer(t, func(n int64, w http.ResponseWriter, _ *http.Request) {
		if n == 50 {
			cancel()
		}
		fmt.Fprint(w, "hello")
	})
	o := Options{Model: results.ModelClosed, Connections: 2, Duration: time.Minute}
	p, err := Attack(ctx, fakeTarget{url: srv.URL}, Request{}, o)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Attack = %v; want context.Canceled", err)
	}
	if p.Requests < 49 || p.Requests > uint64(served.Load()) {
		t.Errorf("Requests = %d, server saw %d; want the requests up to the cancel", p.Requests, served.Load())
	}
	if p.StatusCodes["200"] != p.Requests {
		t.Errorf("StatusCodes = %v; want 200:%d (in-flight requests awaited)", p.StatusCodes, p.Requests)
	}
	if p.DurationNs <= 0 || p.DurationNs >= int64(time.Minute) {
		t.Errorf("DurationNs = %v; want the partial window", time.Duration(p.DurationNs))
	}
}

func TestAttackCancelledBeforeStart(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	o := Options{Model: results.ModelClosed, Connections: 1, Duration: time.Second}
	_, err := Attack(ctx, fakeTarget{url: "http://127.0.0.1:1"}, Request{}, o)
	if !errors.Is(err, context.Canceled) {
		t.Errorf("Attack = %v; want context.Canceled", err)
	}
}

// TestCorrectedLatency attacks a server that stalls once for 150ms on one
// connection: the requests queued behind the stall were due long before
// they were sent, and corrected latency shows it.
func TestCorrectedLatency(t *testing.T) {
	const stall = 150 * time.Millisecond
	srv, _ := countingServer(t, func(n int64, w http.ResponseWriter, _ *http.Request) {
		if n == 5 {
			time.Sleep(stall) // the stall being measured, not a wait for readiness
		}
		fmt.Fprint(w, "hello")
	})
	o := Options{Model: results.ModelOpen, Rate: 100, Connections: 1, Duration: 400 * time.Millisecond}
	p := attack(t, srv.URL, o)
	c := p.Corrected
	if c == nil {
		t.Fatal("Corrected = nil for an open attack")
	}
	if c.Count != p.Latency.Count {
		t.Errorf("Corrected.Count = %d; want %d", c.Count, p.Latency.Count)
	}
	if c.MaxNs < int64(stall) {
		t.Errorf("Corrected.Max = %v; want >= the %v stall", time.Duration(c.MaxNs), stall)
	}
	for _, q := range []struct {
		name     string
		cor, act int64
	}{{"min", c.MinNs, p.Latency.MinNs}, {"p50", c.P50Ns, p.Latency.P50Ns}, {"p99", c.P99Ns, p.Latency.P99Ns}, {"max", c.MaxNs, p.Latency.MaxNs}} {
		if q.cor < q.act {
			t.Errorf("corrected %s = %v < actual %v", q.name, time.Duration(q.cor), time.Duration(q.act))
		}
	}
}

func TestSaturated(t *testing.T) {
	slot := make(chan struct{}, 1)
	srv, _ := countingServer(t, func(_ int64, w http.ResponseWriter, r *http.Request) {
		select {
		case slot <- struct{}{}:
		case <-r.Context().Done():
			return
		}
		defer func() { <-slot }()
		time.Sleep(20 * time.Millisecond) // the server's service time
		fmt.Fprint(w, "hello")
	})
	o := Options{Model: results.ModelOpen, Rate: 200, Connections: 8, Duration: 500 * time.Millisecond, Timeout: 300 * time.Millisecond}
	p := attack(t, srv.URL, o)
	if !p.Saturated {
		t.Errorf("Saturated = false with achieved %.0f of offered %.0f req/s", p.AchievedRate, p.OfferedRate)
	}
	if p.AchievedRate > 60 {
		t.Errorf("AchievedRate = %.0f; a one-slot 20ms server answers at most 50/s", p.AchievedRate)
	}
}

func TestSaturatedRule(t *testing.T) {
	tests := []struct {
		model    results.Model
		offered  float64
		answered uint64
		window   time.Duration
		want     bool
	}{
		{results.ModelOpen, 100, 1000, 10 * time.Second, false},
		{results.ModelOpen, 100, 990, 10 * time.Second, false},
		{results.ModelOpen, 100, 989, 10 * time.Second, false}, // one answer of edge slack
		{results.ModelOpen, 100, 988, 10 * time.Second, true},
		{results.ModelOpen, 25, 37, 1500 * time.Millisecond, false}, // 37.5 expected
		{results.ModelOpen, 25, 35, 1500 * time.Millisecond, true},
		{results.ModelOpen, 100, 0, time.Second, true},
		{results.ModelClosed, 0, 10, time.Second, false},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.model, tt.offered, tt.answered, tt.window), func(t *testing.T) {
			if got := saturated(tt.model, tt.offered, tt.answered, tt.window); got != tt.want {
				t.Errorf("saturated(%s, %g, %d, %v) = %v; want %v", tt.model, tt.offered, tt.answered, tt.window, got, tt.want)
			}
		})
	}
}

// TestRawDecodes checks the raw results of both models; the closed model
// keeps bodies and headers on its worker loop, and so does vegeta's
// attacker; the open model's epoll engine keeps neither.
func TestRawDecodes(t *testing.T) {
	srv, _ := helloServer(t)
	for _, tc := range []struct {
		model  results.Model
		engine string
	}{
		{results.ModelOpen, EngineVegeta}, {results.ModelOpen, EngineEpoll}, {results.ModelClosed, ""},
	} {
		model := tc.model
		keeps := tc.engine != EngineEpoll
		t.Run(string(model)+"/"+tc.engine, func(t *testing.T) {
			var raw bytes.Buffer
			o := Options{Model: model, Rate: 100, Connections: 1, Warmup: 50 * time.Millisecond, Duration: 200 * time.Millisecond, Raw: &raw, Engine: tc.engine}
			if model == results.ModelClosed {
				o.Rate = 0
			}
			p, err := Attack(context.Background(), fakeTarget{url: srv.URL}, Request{Endpoint: "raw"}, o)
			if err != nil {
				t.Fatal(err)
			}
			dec := vegeta.NewDecoder(&raw)
			var n uint64
			for {
				var r vegeta.Result
				if err := dec.Decode(&r); err == io.EOF {
					break
				} else if err != nil {
					t.Fatal(err)
				}
				n++
				wantBody, wantLen := "hello", "5"
				if !keeps {
					wantBody, wantLen = "", ""
				}
				if r.Code != 200 || string(r.Body) != wantBody || r.BytesIn != 5 || r.Attack != "fake raw" || r.Timestamp.Before(p.StartedAt) ||
					r.Method != "GET" || !strings.HasSuffix(r.URL, "/") {
					t.Errorf("raw result %d: code %d body %q (%d bytes) attack %q %s %s at %v (window from %v)",
						n, r.Code, r.Body, r.BytesIn, r.Attack, r.Method, r.URL, r.Timestamp, p.StartedAt)
				}
				if r.Headers.Get("Content-Length") != wantLen {
					t.Errorf("raw result %d headers = %v; want Content-Length %q", n, r.Headers, wantLen)
				}
			}
			if n != p.Requests || n == 0 {
				t.Errorf("decoded %d results; want %d (the measured ones)", n, p.Requests)
			}
		})
	}
}

func TestServerCost(t *testing.T) {
	srv, _ := helloServer(t)
	tests := []struct {
		name     string
		pids     []int
		observed bool
	}{
		{"observed", []int{os.Getpid()}, true}, // the httptest server lives in this process
		{"external", nil, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := Options{Model: results.ModelClosed, Connections: 2, Duration: 200 * time.Millisecond, GeneratorCPUs: 1}
			p, err := Attack(context.Background(), fakeTarget{url: srv.URL, pids: tt.pids}, Request{}, o)
			if err != nil {
				t.Fatal(err)
			}
			s := p.Server
			if s.Observed != tt.observed {
				t.Fatalf("Observed = %v; want %v", s.Observed, tt.observed)
			}
			if tt.observed {
				if s.CPUNs <= 0 || s.PeakRSSBytes == 0 || s.CPUPerRequestNs <= 0 || s.RequestsPerCPUSec <= 0 {
					t.Errorf("Server = %+v; want CPU, RSS and per-request figures", s)
				}
				// This process reaps no children: its CPU is read in
				// nanoseconds, exact.
				if s.CPUResolutionNs != 0 {
					t.Errorf("CPUResolutionNs = %d; want 0", s.CPUResolutionNs)
				}
				// CPUNs is in nanoseconds, user+sys in 10ms ticks (two
				// counters, read twice): they agree to that truncation.
				if d := s.CPUNs - (s.UserNs + s.SysNs); d < -int64(40*time.Millisecond) || d > int64(40*time.Millisecond) {
					t.Errorf("CPUNs = %d, user+sys = %d: differ by more than the ticks' truncation", s.CPUNs, s.UserNs+s.SysNs)
				}
			} else if s != (results.ServerCost{}) {
				t.Errorf("Server = %+v; want zero", s)
			}
			if p.Generator.CPUNs <= 0 || p.Generator.CoreShare <= 0 {
				t.Errorf("Generator = %+v; want its CPU", p.Generator)
			}
		})
	}
}

func TestTimeline(t *testing.T) {
	srv, _ := helloServer(t)
	o := Options{Model: results.ModelOpen, Rate: 100, Connections: 1, Duration: 300 * time.Millisecond, TimelineInterval: 100 * time.Millisecond}
	p := attack(t, srv.URL, o)
	if len(p.Timeline) < 3 || len(p.Timeline) > 4 {
		t.Fatalf("%d timeline buckets; want 3 (or 4 with the last request on the edge)", len(p.Timeline))
	}
	for i, b := range p.Timeline {
		if b.OffsetNs != int64(i)*int64(100*time.Millisecond) {
			t.Errorf("bucket %d offset %d", i, b.OffsetNs)
		}
		if b.Requests > 0 && (b.P50Ns <= 0 || b.P99Ns < b.P50Ns || b.MaxNs < b.P99Ns) {
			t.Errorf("bucket %d = %+v; want ordered percentiles", i, b)
		}
	}
}

func TestAttackRejectsBadInput(t *testing.T) {
	good := Options{Model: results.ModelClosed, Connections: 1, Duration: time.Second}
	tests := []struct {
		name string
		url  string
		req  Request
		o    Options
	}{
		{"bad options", "http://127.0.0.1:1", Request{}, Options{}},
		{"relative path", "http://127.0.0.1:1", Request{Path: "x"}, good},
		{"not http", "ftp://127.0.0.1:1", Request{}, good},
		{"no host", "http://", Request{}, good},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Attack(context.Background(), fakeTarget{url: tt.url}, tt.req, tt.o); err == nil {
				t.Error("Attack = nil error")
			}
		})
	}
}

func TestValidate(t *testing.T) {
	ok := Options{Model: results.ModelOpen, Rate: 10, Connections: 1, Duration: time.Second}
	tests := []struct {
		name  string
		edit  func(*Options)
		valid bool
	}{
		{"ok open", func(*Options) {}, true},
		{"ok closed", func(o *Options) { o.Model, o.Rate = results.ModelClosed, 0 }, true},
		{"ok fractional rate", func(o *Options) { o.Rate = 0.5 }, true},
		{"no model", func(o *Options) { o.Model = "" }, false},
		{"open without rate", func(o *Options) { o.Rate = 0 }, false},
		{"closed with rate", func(o *Options) { o.Model = results.ModelClosed }, false},
		{"rate too high", func(o *Options) { o.Rate = 2e9 }, false},
		{"no connections", func(o *Options) { o.Connections = 0 }, false},
		{"no duration", func(o *Options) { o.Duration = 0 }, false},
		{"negative warm-up", func(o *Options) { o.Warmup = -1 }, false},
		{"negative timeout", func(o *Options) { o.Timeout = -1 }, false},
		{"bad transport", func(o *Options) { o.Transport = "curl" }, false},
		{"ok epoll", func(o *Options) { o.Engine = EngineEpoll }, true},
		{"ok vegeta", func(o *Options) { o.Engine = EngineVegeta }, true},
		{"ok poisson", func(o *Options) { o.Poisson, o.Seed = true, 7 }, true},
		{"bad engine", func(o *Options) { o.Engine = "wrk" }, false},
		{"poisson on vegeta", func(o *Options) { o.Poisson, o.Engine = true, EngineVegeta }, false},
		{"poisson closed", func(o *Options) { o.Poisson, o.Model, o.Rate = true, results.ModelClosed, 0 }, false},
		{"epoll on nethttp", func(o *Options) { o.Engine, o.Transport = EngineEpoll, TransportNetHTTP }, false},
		{"negative CPUs", func(o *Options) { o.GeneratorCPUs = -1 }, false},
		{"negative interval", func(o *Options) { o.TimelineInterval = -1 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.edit(&o)
			err := Validate(o)
			if (err == nil) != tt.valid {
				t.Fatalf("Validate = %v; want valid %v", err, tt.valid)
			}
			if err != nil && !errors.Is(err, ErrInvalidOptions) {
				t.Errorf("Validate = %v; want it to wrap ErrInvalidOptions", err)
			}
		})
	}
}
