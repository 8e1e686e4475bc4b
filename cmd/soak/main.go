// Command soak drives the CGI deployment (`bench serve --target cgi`) at
// twice its measured capacity for a while, plus a few clients that read
// their responses very slowly, and reports what a CGI host must survive:
// requests, 503s, the peak number of processes, the processes and zombies
// left once the load stops (both must be 0), and the front's RSS before and
// after. It is `make soak`; it is not part of `make test` or CI.
//
// Usage: go run ./cmd/soak [-bin bin] [-duration 3m] [-slow 4]
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"forkbench/targets"
)

func main() {
	bin := flag.String("bin", "bin", "directory of bench and sampleapp")
	dur := flag.Duration("duration", 3*time.Minute, "how long to overload the CGI front")
	capDur := flag.Duration("capacity-duration", 10*time.Second, "how long to measure capacity first")
	slow := flag.Int("slow", 4, "slow-reading clients during the soak")
	maxChildren := flag.Int("max-children", 4*runtime.NumCPU(), "--cgi-max-children of the front")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, *bin, *dur, *capDur, *slow, *maxChildren); err != nil {
		fmt.Fprintln(os.Stderr, "soak:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, bin string, dur, capDur time.Duration, slow, maxChildren int) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	data, err := os.MkdirTemp("", "forkbench-soak-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(data)
	logf, err := os.Create(filepath.Join(data, "serve.log"))
	if err != nil {
		return err
	}
	defer logf.Close()
	p := &targets.Process{
		Label: "cgi",
		Path:  filepath.Join(bin, "bench"),
		Args: []string{"serve", "--target", "cgi", "--app-bin", filepath.Join(bin, "sampleapp"),
			"--data", data, "--cgi-max-children", strconv.Itoa(maxChildren)},
		Stderr:       logf,
		StartTimeout: time.Minute,
	}
	if err := p.Start(ctx); err != nil {
		return err
	}
	pid := p.PIDs()[0]
	base := p.URL()
	rssBefore := rss(pid)

	client := &http.Client{
		Transport: &http.Transport{MaxIdleConns: 4096, MaxIdleConnsPerHost: 4096},
		Timeout:   40 * time.Second,
	}
	capacity := closedLoop(ctx, client, base+"/plaintext", maxChildren, capDur)
	fmt.Printf("capacity: %.0f req/s (closed loop, %d connections, %v)\n", capacity, maxChildren, capDur)
	if capacity < 1 {
		_ = p.Stop(context.Background())
		return errors.New("no capacity measured; see " + logf.Name())
	}

	sampler := startSampler(pid)
	slowDone := startSlowReaders(ctx, strings.TrimPrefix(base, "http://"), slow, dur)
	st := openLoop(ctx, client, base+"/plaintext", 2*capacity, dur)
	slowStats := <-slowDone
	client.CloseIdleConnections()

	// Once every response is in, every child must have been reaped; a
	// slow reader's child goes when its write fails (WriteTimeout or the
	// CGI timeout), which may come after its client has gone.
	settle := time.Now()
	left, zombies := descendants(pid)
	for (left > 0 || zombies > 0) && time.Since(settle) < 45*time.Second {
		time.Sleep(100 * time.Millisecond)
		left, zombies = descendants(pid)
	}
	peak, peakZ := sampler()
	rssAfter := rss(pid)
	stopErr := p.Stop(context.Background())
	groupLeft := groupMembers(pid)

	fmt.Printf("offered: %.0f req/s for %v (2 × capacity)\n", 2*capacity, dur)
	fmt.Printf("requests: %d sent, %d 200, %d 503, %d other status %v, %d errors, %d not sent (generator cap)\n",
		st.sent.Load(), st.ok.Load(), st.unavailable.Load(), st.otherN.Load(), st.otherCodes(), st.errs.Load(), st.dropped.Load())
	fmt.Printf("slow readers: %d; their requests: %d cut off by the front, %d got the whole body, %d unfinished at the end\n",
		slow, slowStats.cut, slowStats.whole, slowStats.unfinished)
	fmt.Printf("front log: %s\n", logSummary(logf.Name()))
	fmt.Printf("peak processes under the front: %d (zombies at peak sample: %d)\n", peak, peakZ)
	fmt.Printf("left after the load: %d processes, %d zombies (settled in %v); left in the front's group after Stop: %d\n",
		left, zombies, time.Since(settle).Round(time.Millisecond), groupLeft)
	fmt.Printf("front RSS: %.1f MiB before, %.1f MiB after\n", float64(rssBefore)/(1<<20), float64(rssAfter)/(1<<20))
	if stopErr != nil {
		fmt.Printf("stop: %v\n", stopErr)
	}
	if left != 0 || zombies != 0 || groupLeft != 0 {
		return fmt.Errorf("processes left behind (see %s)", logf.Name())
	}
	return nil
}

// closedLoop measures how many 200s conns connections get per second.
func closedLoop(ctx context.Context, c *http.Client, url string, conns int, d time.Duration) float64 {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var ok atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conns {
		wg.Go(func() {
			for ctx.Err() == nil {
				if code, _ := get(ctx, c, url); code == http.StatusOK {
					ok.Add(1)
				}
			}
		})
	}
	wg.Wait()
	return float64(ok.Load()) / time.Since(start).Seconds()
}

type openStats struct {
	sent, ok, unavailable, otherN, errs, dropped atomic.Int64
	mu                                           sync.Mutex
	other                                        map[int]int
}

func (s *openStats) otherCodes() map[int]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.other
}

// openLoop sends rate requests per second for d, whatever the answers,
// with at most 4096 in flight.
func openLoop(ctx context.Context, c *http.Client, url string, rate float64, d time.Duration) *openStats {
	st := &openStats{other: map[int]int{}}
	sem := make(chan struct{}, 4096)
	var wg sync.WaitGroup
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	for i := 0; ctx.Err() == nil; i++ {
		next := start.Add(time.Duration(i) * interval)
		if next.Sub(start) >= d {
			break
		}
		if w := time.Until(next); w > 0 {
			time.Sleep(w) // pacing the generator, not synchronisation
		}
		select {
		case sem <- struct{}{}:
		default:
			st.dropped.Add(1)
			continue
		}
		st.sent.Add(1)
		wg.Go(func() {
			defer func() { <-sem }()
			code, err := get(context.Background(), c, url)
			switch {
			case err != nil:
				st.errs.Add(1)
			case code == http.StatusOK:
				st.ok.Add(1)
			case code == http.StatusServiceUnavailable:
				st.unavailable.Add(1)
			default:
				st.otherN.Add(1)
				st.mu.Lock()
				st.other[code]++
				st.mu.Unlock()
			}
		})
	}
	wg.Wait()
	return st
}

func get(ctx context.Context, c *http.Client, url string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, err
}

type slowStats struct{ cut, whole, unfinished int }

// startSlowReaders opens n connections that each ask for 8 MiB and read
// 1 KiB every 100 ms, again and again until d is over.
func startSlowReaders(ctx context.Context, addr string, n int, d time.Duration) <-chan slowStats {
	out := make(chan slowStats, 1)
	var mu sync.Mutex
	var st slowStats
	var wg sync.WaitGroup
	deadline := time.Now().Add(d)
	for range n {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(deadline) {
				r := slowRead(addr, deadline)
				mu.Lock()
				switch r {
				case readWhole:
					st.whole++
				case readCut:
					st.cut++
				default:
					st.unfinished++
				}
				mu.Unlock()
			}
		})
	}
	go func() { wg.Wait(); out <- st }()
	return out
}

type readResult int

const (
	readUnfinished readResult = iota // the soak ended first
	readCut                          // the front closed the connection early
	readWhole
)

// slowRead asks for 8 MiB through a small receive buffer (so the kernel
// does not absorb the response for it) and reads 1 KiB every 100 ms.
func slowRead(addr string, deadline time.Time) readResult {
	c, err := net.Dial("tcp", addr)
	if err != nil {
		time.Sleep(time.Second)
		return readCut
	}
	defer c.Close()
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.SetReadBuffer(4 << 10)
	}
	const n = 8 << 20
	fmt.Fprintf(c, "GET /bytes?n=%d HTTP/1.1\r\nHost: soak\r\nConnection: close\r\n\r\n", n)
	br := bufio.NewReaderSize(c, 1024)
	buf := make([]byte, 1024)
	total := 0
	for time.Now().Before(deadline) {
		m, err := br.Read(buf)
		total += m
		if err != nil {
			if total >= n {
				return readWhole
			}
			return readCut
		}
		time.Sleep(100 * time.Millisecond) // the slowness under test
	}
	return readUnfinished
}

// startSampler counts the front's descendants every 100 ms; the returned
// function stops it and reports the peaks.
func startSampler(pid int) func() (peak, peakZombies int) {
	stop := make(chan struct{})
	done := make(chan [2]int)
	go func() {
		var p, z int
		t := time.NewTicker(100 * time.Millisecond)
		defer t.Stop()
		for {
			n, zz := descendants(pid)
			p, z = max(p, n), max(z, zz)
			select {
			case <-stop:
				done <- [2]int{p, z}
				return
			case <-t.C:
			}
		}
	}()
	return func() (int, int) {
		close(stop)
		r := <-done
		return r[0], r[1]
	}
}

// readStats indexes the processes /proc lists (targets.Procs) by pid;
// the map is empty where /proc cannot be read.
func readStats() map[int]targets.Proc {
	procs, _ := targets.Procs()
	m := make(map[int]targets.Proc, len(procs))
	for _, p := range procs {
		m[p.PID] = p
	}
	return m
}

// descendants counts the processes below pid, and the zombies among them.
func descendants(pid int) (n, zombies int) {
	m := readStats()
	for q, s := range m {
		for seen := 0; s.PPID > 1 && seen < 64; seen++ {
			if s.PPID == pid {
				n++
				if m[q].State == 'Z' {
					zombies++
				}
				break
			}
			s = m[s.PPID]
		}
	}
	return n, zombies
}

// groupMembers counts the processes still in pid's process group,
// zombies included: soak reports what the front left, dead or alive.
func groupMembers(pid int) int {
	procs, _ := targets.Procs()
	n := 0
	for _, p := range procs {
		if p.PGID == pid {
			n++
		}
	}
	return n
}

// logSummary counts the CGI host's log lines by message.
func logSummary(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	counts := map[string]int{}
	for _, line := range strings.Split(string(b), "\n") {
		_, rest, ok := strings.Cut(line, `msg="`)
		if !ok {
			continue
		}
		msg, _, _ := strings.Cut(rest, `"`)
		counts[msg]++
	}
	return fmt.Sprint(counts)
}

// rss is pid's resident set in bytes.
func rss(pid int) int64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	return 0
}
