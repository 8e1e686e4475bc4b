package affinity

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"

	"forkbench/internal/testbin"
)

const childEnv = "FORKBENCH_AFFINITY_CHILD"

// TestMain runs the test binary as a child that pins itself when childEnv
// is set, so the test process itself is never pinned.
func TestMain(m *testing.M) { testbin.ChildMain(m, childEnv, child) }

// child pins itself to the CPUs in spec, then starts more OS threads (which
// must inherit the mask), reports "ready" and waits for stdin to close.
func child(spec string) int {
	var cpus []int
	for f := range strings.SplitSeq(spec, ",") {
		c, err := strconv.Atoi(f)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 2
		}
		cpus = append(cpus, c)
	}
	if err := PinSelf(cpus); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	started := make(chan struct{})
	for range 4 {
		go func() {
			runtime.LockOSThread() // forces a new thread for the next goroutine
			started <- struct{}{}
			_, _ = io.Copy(io.Discard, os.Stdin)
		}()
		<-started
	}
	fmt.Println("ready")
	_, _ = io.Copy(io.Discard, os.Stdin)
	return 0
}

func TestPinSelfEveryThread(t *testing.T) {
	allowed, err := Get(0)
	if err != nil {
		t.Fatal(err)
	}
	want := allowed[len(allowed)-1:]
	c := testbin.StartChild(t, "child", testbin.ChildCommand(childEnv, strconv.Itoa(want[0])), nil)
	c.CloseAtCleanup(t)
	c.Expect(t, "ready")
	tids, err := Tasks(c.Cmd.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	if len(tids) < 5 {
		t.Errorf("child has %d threads; want at least 5", len(tids))
	}
	for _, tid := range tids {
		got, err := Get(tid)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Errorf("Get(thread %d) = %v; want %v", tid, got, want)
		}
	}
	// The test process itself must be untouched.
	if got, _ := Get(0); !slices.Equal(got, allowed) {
		t.Errorf("test process affinity = %v; want %v", got, allowed)
	}
}

func TestPlan(t *testing.T) {
	tests := []struct {
		ncpu        int
		gen, target []int
		ok          bool
	}{
		{0, nil, nil, false},
		{1, nil, nil, false},
		{2, []int{0}, []int{1}, true},
		{4, []int{0}, []int{1, 2, 3}, true},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.ncpu), func(t *testing.T) {
			gen, target, ok := Plan(tt.ncpu)
			if !slices.Equal(gen, tt.gen) || !slices.Equal(target, tt.target) || ok != tt.ok {
				t.Errorf("Plan(%d) = %v, %v, %v; want %v, %v, %v", tt.ncpu, gen, target, ok, tt.gen, tt.target, tt.ok)
			}
		})
	}
}

func TestInvalidCPUs(t *testing.T) {
	for _, cpus := range [][]int{nil, {-1}, {maxCPU}} {
		t.Run(fmt.Sprint(cpus), func(t *testing.T) {
			if err := PinSelf(cpus); !errors.Is(err, ErrNoCPUs) {
				t.Errorf("PinSelf(%v) = %v; want ErrNoCPUs", cpus, err)
			}
			if err := Pin(os.Getpid(), cpus); !errors.Is(err, ErrNoCPUs) {
				t.Errorf("Pin(%v) = %v; want ErrNoCPUs", cpus, err)
			}
		})
	}
}

func TestGetDeadProcess(t *testing.T) {
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	if _, err := Get(cmd.Process.Pid); err == nil {
		t.Errorf("Get(reaped pid %d) = nil error; want an error", cmd.Process.Pid)
	}
}
