package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"forkbench/internal/testbin"
	"forkbench/results"
)

// TestMain lets the test binary serve as a target: with AGENT_TEST_CHILD
// set it spins (CPU) or forks children until killed.
func TestMain(m *testing.M) {
	switch os.Getenv("AGENT_TEST_CHILD") {
	case "spin":
		buf := make([]byte, 8<<20) // resident memory to see
		for i := 0; ; i++ {
			buf[i%len(buf)]++
		}
	case "fork":
		for i := 0; ; i++ {
			_ = exec.Command("/bin/true").Run()
			if i == 0 {
				fmt.Println("forking") // the test measures from here on
			}
		}
	}
	os.Exit(m.Run())
}

// child starts this test binary as a target process, and returns it and
// its stdout; it is killed and reaped when the test ends.
func child(t *testing.T, mode string) (*exec.Cmd, *bufio.Reader) {
	t.Helper()
	cmd := testbin.ChildCommand("AGENT_TEST_CHILD", mode)
	return cmd, testbin.StartDaemon(t, cmd)
}

// serve starts an agent for sel on a loopback httptest server.
func serve(t *testing.T, sel Selector, token string) *Client {
	t.Helper()
	s, err := New(context.Background(), Config{Target: sel, Token: token, Host: results.Environment{OS: "linux", CPUs: 2, CPUModel: "test"}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler()) // listens on 127.0.0.1
	t.Cleanup(ts.Close)
	c, err := NewClient(ts.URL, token)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCheckListen(t *testing.T) {
	tests := []struct {
		addr, token string
		ok          bool
	}{
		{"127.0.0.1:0", "", true},
		{"127.0.0.2:7070", "", true},
		{"[::1]:0", "", true},
		{"localhost:7070", "", true},
		{"0.0.0.0:7070", "", false},
		{":7070", "", false},
		{"192.0.2.1:7070", "", false},
		{"[2001:db8::1]:7070", "", false},
		{"0.0.0.0:7070", "s3cret", true},
		{"nonsense", "", false},
	}
	for _, tt := range tests {
		err := CheckListen(tt.addr, tt.token)
		if (err == nil) != tt.ok {
			t.Errorf("CheckListen(%q, %q) = %v; want ok=%v", tt.addr, tt.token, err, tt.ok)
		}
		if !tt.ok && tt.addr != "nonsense" && !errors.Is(err, ErrTokenRequired) {
			t.Errorf("CheckListen(%q) = %v; want ErrTokenRequired", tt.addr, err)
		}
	}
}

func TestTokenAndReadOnly(t *testing.T) {
	c := serve(t, Selector{PID: os.Getpid()}, "s3cret")
	tests := []struct {
		name, method, auth string
		want               int
	}{
		{"no token", "GET", "", http.StatusUnauthorized},
		{"wrong token", "GET", "Bearer nope", http.StatusUnauthorized},
		{"not bearer", "GET", "Basic s3cret", http.StatusUnauthorized},
		{"right token", "GET", "Bearer s3cret", http.StatusOK},
		{"post", "POST", "Bearer s3cret", http.StatusMethodNotAllowed},
		{"delete", "DELETE", "Bearer s3cret", http.StatusMethodNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(tt.method, c.URL+"/v1/info", nil)
			if tt.auth != "" {
				req.Header.Set("Authorization", tt.auth)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != tt.want {
				t.Errorf("status = %d; want %d", resp.StatusCode, tt.want)
			}
		})
	}
	info, err := c.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if info.Target != fmt.Sprintf("pid %d", os.Getpid()) || info.Host.CPUModel != "test" || info.Host.CPUs != 2 {
		t.Errorf("info = %+v", info)
	}
	bad := &Client{URL: c.URL}
	if _, err := bad.Info(context.Background()); !errors.Is(err, ErrAgent) || !strings.Contains(err.Error(), "bearer token") {
		t.Errorf("Info without token = %v; want the agent's refusal", err)
	}
}

func TestNTPOffset(t *testing.T) {
	tests := []struct {
		name               string
		t1, t2, t3, t4     int64
		wantOffset, wantRT int64
	}{
		{"same clock", 100, 150, 160, 210, 0, 100},
		{"agent ahead 1000", 100, 1150, 1160, 210, 1000, 100},
		{"agent behind 500", 1000, 550, 560, 1110, -500, 100},
		{"asymmetric path", 0, 80, 80, 100, 30, 100},
	}
	for _, tt := range tests {
		off, rtt := ntpOffset(tt.t1, tt.t2, tt.t3, tt.t4)
		if off != tt.wantOffset || rtt != tt.wantRT {
			t.Errorf("%s: offset, rtt = %d, %d; want %d, %d", tt.name, off, rtt, tt.wantOffset, tt.wantRT)
		}
	}
}

func TestClockSameHost(t *testing.T) {
	c := serve(t, Selector{PID: os.Getpid()}, "")
	off, err := c.Clock(context.Background(), 5)
	if err != nil {
		t.Fatal(err)
	}
	// One clock: the true offset is 0, so the measured one lies within
	// half the round trip (NTP's error bound).
	if off.Samples != 5 || off.RTTNs <= 0 || abs(off.OffsetNs) > off.RTTNs/2+1 {
		t.Errorf("clock = %+v; want 5 samples and |offset| ≤ rtt/2", off)
	}
}

func abs(v int64) int64 { return max(v, -v) }

func TestWindowSpinningProcess(t *testing.T) {
	cmd, _ := child(t, "spin")
	c := serve(t, Selector{PID: cmd.Process.Pid}, "")
	start := time.Now().Add(50 * time.Millisecond)
	cost, err := c.Window(context.Background(), start, start.Add(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if !cost.Observed {
		t.Fatalf("cost = %+v; want observed", cost)
	}
	window := cost.EndNs - cost.StartNs
	if cost.StartNs < start.UnixNano() || window <= 0 {
		t.Errorf("window [%d, %d] starts before the asked %d", cost.StartNs, cost.EndNs, start.UnixNano())
	}
	if cost.CPUNs <= 0 || cost.CPUNs > window*int64(runtime.NumCPU())+cost.CPUResolutionNs {
		t.Errorf("CPU = %d ns over a %d ns window; want positive and at most window × CPUs", cost.CPUNs, window)
	}
	if cost.PeakRSSBytes < 8<<20 {
		t.Errorf("peak RSS = %d; want at least the 8 MiB the child touches", cost.PeakRSSBytes)
	}
	var s results.ServerCost
	cost.Fill(&s, 1000, 2000)
	if !s.Remote || !s.Observed || s.CPUPerRequestNs != float64(cost.CPUNs)/1000 {
		t.Errorf("Fill = %+v", s)
	}
}

func TestWindowCountsSpawns(t *testing.T) {
	cmd, out := child(t, "fork")
	if line, err := out.ReadString('\n'); err != nil || line != "forking\n" {
		t.Fatalf("child's first line %q, %v; want \"forking\"", line, err)
	}
	c := serve(t, Selector{PID: cmd.Process.Pid}, "")
	start := time.Now().Add(50 * time.Millisecond)
	cost, err := c.Window(context.Background(), start, start.Add(300*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if !cost.Observed || cost.Spawns == 0 || cost.SpawnSource == "" {
		t.Errorf("cost = %+v; want spawns counted", cost)
	}
}

func TestWindowRefusals(t *testing.T) {
	c := serve(t, Selector{PID: os.Getpid()}, "")
	now := time.Now()
	tests := []struct {
		name       string
		start, end time.Time
		want       string
	}{
		{"end before start", now.Add(time.Second), now, "not after start"},
		{"too long", now, now.Add(2 * MaxWindow), "longer than"},
		{"too far ahead", now.Add(2 * MaxLead), now.Add(2*MaxLead + time.Second), "ahead"},
		{"already started", now.Add(-5 * time.Second), now.Add(time.Second), "ask before it starts"},
	}
	for _, tt := range tests {
		_, err := c.Window(context.Background(), tt.start, tt.end)
		if !errors.Is(err, ErrAgent) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v; want the agent's refusal containing %q", tt.name, err, tt.want)
		}
	}
}

func TestWindowGoneProcess(t *testing.T) {
	c := serve(t, Selector{PID: 1 << 30}, "") // beyond pid_max: never alive
	start := time.Now().Add(10 * time.Millisecond)
	cost, err := c.Window(context.Background(), start, start.Add(20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	if cost.Observed || !strings.Contains(cost.Reason, "no process") {
		t.Errorf("cost = %+v; want not observed, no process", cost)
	}
}

func TestSelectors(t *testing.T) {
	// A process with a name nobody else uses: a copy of the test binary.
	dir := t.TempDir()
	bin := filepath.Join(dir, "fbagentsel")
	data, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "-test.run=^$")
	cmd.Env = append(os.Environ(), "AGENT_TEST_CHILD=spin")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	pat := Selector{Pattern: "^fbagentsel$"}
	if err := pat.compile(); err != nil {
		t.Fatal(err)
	}
	roots, err := pat.Roots()
	if err != nil || !slices.Equal(roots, []int{cmd.Process.Pid}) {
		t.Errorf("pattern roots = %v, %v; want [%d]", roots, err, cmd.Process.Pid)
	}

	cg, err := os.ReadFile("/proc/self/cgroup") // "0::/path" on cgroup v2
	if _, rest, ok := strings.Cut(strings.TrimSpace(string(cg)), "::"); err == nil && ok {
		sel := Selector{Cgroup: rest}
		if err := sel.compile(); err != nil {
			t.Fatal(err)
		}
		if roots, err := sel.Roots(); err != nil {
			t.Logf("cgroup %s not readable here: %v", rest, err)
		} else if !slices.Contains(roots, os.Getpid()) {
			t.Errorf("cgroup %s roots %v do not include this process %d", rest, roots, os.Getpid())
		}
	}

	for _, bad := range []Selector{{}, {PID: 1, Pattern: "x"}, {Pattern: "("}, {PID: -3}} {
		if err := bad.compile(); !errors.Is(err, ErrSelector) {
			t.Errorf("compile(%+v) = %v; want ErrSelector", bad, err)
		}
	}
}
