package procstat

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"forkbench/internal/testbin"
)

const childEnv = "FORKBENCH_PROCSTAT_CHILD"

// TestMain turns the test binary into one of the helper processes below
// when childEnv is set.
func TestMain(m *testing.M) { testbin.ChildMain(m, childEnv, child) }

// burnCPU is how much CPU the "burn" child uses before exiting.
const burnCPU = 300 * time.Millisecond

// allocBytes is what the "alloc" child keeps resident.
const allocBytes = 64 << 20

var sink []byte

func child(mode string) int {
	switch mode {
	case "burn": // use burnCPU of CPU, then exit
		for {
			u, s, err := Self()
			if err != nil {
				return 1
			}
			if time.Duration(u+s) >= burnCPU {
				return 0
			}
			for i := 0; i < 1e6; i++ {
				sink = append(sink[:0], byte(i))
			}
		}
	case "spin": // use burnCPU of CPU, then wait for stdin to close
		for {
			u, s, err := Self()
			if err != nil {
				return 1
			}
			if time.Duration(u+s) >= burnCPU {
				break
			}
			for i := 0; i < 1e5; i++ {
				sink = append(sink[:0], byte(i))
			}
		}
		fmt.Println("ready")
	case "reaper": // run a burn child, reap it, then wait for stdin to close
		c := helper("burn")
		c.Stdout, c.Stderr = os.Stderr, os.Stderr
		if err := c.Run(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println("reaped")
	case "tree": // start two holding children, then wait for stdin to close
		for range 2 {
			c := helper("hold")
			// The children hold the read end of a pipe whose write end
			// only this process has: they exit when it does.
			r, w, err := os.Pipe()
			if err != nil {
				return 1
			}
			c.Stdin, c.Stdout = r, os.Stderr
			if err := c.Start(); err != nil {
				return 1
			}
			_ = r.Close()
			defer w.Close()
		}
		fmt.Println("ready")
	case "alloc": // keep allocBytes resident
		sink = make([]byte, allocBytes)
		for i := range sink {
			sink[i] = byte(i)
		}
		fmt.Println("ready")
	case "hold":
	case "exit":
		return 0
	default:
		if code, ok := forkChild(mode); ok {
			return code
		}
		if code, ok := cgroupChild(mode); ok {
			return code
		}
		return 2
	}
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

// helper returns the command that runs the helper process of mode.
func helper(mode string) *exec.Cmd { return testbin.ChildCommand(childEnv, mode) }

// startHelper starts a helper, waits for its first line and arranges for
// it to exit (by closing its stdin) and be reaped at the end of the test.
func startHelper(t *testing.T, mode, wantLine string) *exec.Cmd {
	t.Helper()
	c := testbin.StartChild(t, "helper "+mode, helper(mode), nil)
	c.CloseAtCleanup(t)
	c.Expect(t, wantLine)
	return c.Cmd
}

// helperTree starts a helper as startHelper does and returns it with
// the CPU and memory of its tree once it has said wantLine.
func helperTree(t *testing.T, mode, wantLine string) (*exec.Cmd, Usage) {
	t.Helper()
	c := startHelper(t, mode, wantLine)
	u, err := Tree([]int{c.Process.Pid})
	if err != nil {
		t.Fatal(err)
	}
	return c, u
}

func TestReapedChildInCutime(t *testing.T) {
	_, u := helperTree(t, "reaper", "reaped")
	if u.Procs != 1 {
		t.Errorf("Procs = %d; want 1 (the burn child is reaped)", u.Procs)
	}
	// Allow for the clock-tick resolution of /proc's times.
	if got, want := time.Duration(u.CPUNs()), burnCPU*2/3; got < want {
		t.Errorf("tree CPU = %v; want >= %v (the reaped child's CPU)", got, want)
	}
	if got, want := time.Duration(u.OnCPUNs), burnCPU*2/3; got < want {
		t.Errorf("OnCPUNs = %v; want >= %v (the reaped child's CPU, in ticks)", got, want)
	}
	if tick := int64(time.Second) / clockTicks(); u.ResolutionNs != 2*tick {
		t.Errorf("ResolutionNs = %v; want 2 ticks (cutime and cstime)", time.Duration(u.ResolutionNs))
	}
}

// TestOnCPUNanoseconds checks that a live process's CPU time is read from
// its threads in nanoseconds, not truncated to clock ticks.
func TestOnCPUNanoseconds(t *testing.T) {
	_, u := helperTree(t, "spin", "ready")
	tick := int64(time.Second) / clockTicks()
	if u.ResolutionNs != 0 {
		t.Errorf("ResolutionNs = %v; want 0 (no tick-based counter: nothing reaped)", time.Duration(u.ResolutionNs))
	}
	// The child stopped spinning once getrusage said burnCPU: its threads
	// hold at least that, and agree with the tick figure to its
	// truncation.
	if got := time.Duration(u.OnCPUNs); got < burnCPU || got > burnCPU+time.Second {
		t.Errorf("OnCPUNs = %v; want >= %v (what the child measured itself)", got, burnCPU)
	}
	if d := u.OnCPUNs - u.CPUNs(); d < 0 || d > 2*tick+int64(50*time.Millisecond) {
		t.Errorf("OnCPUNs %v vs ticks %v: differ by %v; want within the ticks' truncation", time.Duration(u.OnCPUNs), time.Duration(u.CPUNs()), time.Duration(d))
	}
	if u.OnCPUNs%tick == 0 {
		t.Errorf("OnCPUNs = %d is a whole number of ticks; want nanoseconds", u.OnCPUNs)
	}
}

func TestDescendants(t *testing.T) {
	c, u := helperTree(t, "tree", "ready")
	if u.Procs != 3 {
		t.Errorf("Procs = %d; want 3 (root and two children)", u.Procs)
	}
	if u.RSSBytes == 0 || u.VolCtx == 0 {
		t.Errorf("RSSBytes = %d, VolCtx = %d; want both > 0", u.RSSBytes, u.VolCtx)
	}
	// A root listed twice, or a descendant listed as a root, counts once.
	u2, err := Tree([]int{c.Process.Pid, c.Process.Pid})
	if err != nil {
		t.Fatal(err)
	}
	if u2.Procs != 3 {
		t.Errorf("Procs with duplicate roots = %d; want 3", u2.Procs)
	}
}

func TestDeadRoot(t *testing.T) {
	c := helper("exit")
	if err := c.Run(); err != nil {
		t.Fatal(err)
	}
	dead := c.Process.Pid
	if _, err := Tree([]int{dead}); !errors.Is(err, ErrNoProcess) {
		t.Errorf("Tree(dead) = %v; want ErrNoProcess", err)
	}
	if _, err := Tree(nil); !errors.Is(err, ErrNoProcess) {
		t.Errorf("Tree(nil) = %v; want ErrNoProcess", err)
	}
	u, err := Tree([]int{dead, os.Getpid()})
	if err != nil {
		t.Fatalf("Tree(dead, self) = %v; want the dead root skipped", err)
	}
	if u.Procs < 1 {
		t.Errorf("Procs = %d; want >= 1", u.Procs)
	}
}

func TestSamplerPeak(t *testing.T) {
	c := startHelper(t, "alloc", "ready")
	pid := c.Process.Pid
	s := StartSampler(context.Background(), func() []int { return []int{pid} }, 10*time.Millisecond)
	peak, n, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if peak < allocBytes {
		t.Errorf("peak = %d; want >= %d", peak, allocBytes)
	}
	if n < 2 {
		t.Errorf("samples = %d; want >= 2 (first and last)", n)
	}
	if p2, _, _ := s.Stop(); p2 != peak {
		t.Errorf("second Stop = %d; want %d", p2, peak)
	}
}

func TestSamplerNoProcess(t *testing.T) {
	s := StartSampler(context.Background(), func() []int { return nil }, 0)
	if _, _, err := s.Stop(); !errors.Is(err, ErrNoProcess) {
		t.Errorf("Stop = %v; want ErrNoProcess", err)
	}
}

func TestSystemForks(t *testing.T) {
	before, err := SystemForks()
	if err != nil {
		t.Fatal(err)
	}
	if err := helper("exit").Run(); err != nil {
		t.Fatal(err)
	}
	after, err := SystemForks()
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Errorf("forks after starting a child = %d; want > %d", after, before)
	}
}

func TestSelf(t *testing.T) {
	u0, s0, err := Self()
	if err != nil {
		t.Fatal(err)
	}
	for {
		u, s, err := Self()
		if err != nil {
			t.Fatal(err)
		}
		if u < u0 || s < s0 {
			t.Fatalf("Self went backwards: %d,%d after %d,%d", u, s, u0, s0)
		}
		if u+s > u0+s0 {
			return
		}
		for i := 0; i < 1e5; i++ {
			sink = append(sink[:0], byte(i))
		}
	}
}

func TestParseStat(t *testing.T) {
	tests := []struct {
		name, line string
		want       procStat
		wantErr    bool
	}{
		{
			name: "plain",
			line: "42 (bash) S 1 42 42 0 -1 4194560 100 0 0 0 7 3 11 5 20 0 1 0 100 1000 250 18446744073709551615",
			want: procStat{pid: 42, ppid: 1, utime: 7, stime: 3, cutime: 11, cstime: 5, rssPages: 250},
		},
		{
			name: "comm with spaces and parens",
			line: "7 (a) b (c)) R 3 7 7 0 -1 0 0 0 0 0 1 2 3 4 20 0 1 0 100 1000 9 0",
			want: procStat{pid: 7, ppid: 3, utime: 1, stime: 2, cutime: 3, cstime: 4, rssPages: 9},
		},
		{name: "short", line: "1 (x) S 0 1 1", wantErr: true},
		{name: "no comm", line: "garbage", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pid, _ := strconv.Atoi(strings.Fields(tt.line)[0])
			got, err := parseStat(pid, []byte(tt.line))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseStat(%q) error = %v; want error %v", tt.line, err, tt.wantErr)
			}
			if !tt.wantErr && got != tt.want {
				t.Errorf("parseStat(%q) = %+v; want %+v", tt.line, got, tt.want)
			}
		})
	}
}

func TestClockTicks(t *testing.T) {
	// USER_HZ is 100 on every Linux architecture Go supports; the auxv
	// read must agree with the kernel's own figure.
	if got := clockTicks(); got != 100 {
		t.Errorf("clockTicks() = %d; want 100", got)
	}
}
