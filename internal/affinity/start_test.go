package affinity

import (
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestStartPinsChild(t *testing.T) {
	if runtime.NumCPU() < 2 {
		t.Skip("needs 2 CPUs")
	}
	var before unix.CPUSet
	if err := unix.SchedGetaffinity(0, &before); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("grep", "Cpus_allowed_list", "/proc/self/status")
	var out strings.Builder
	cmd.Stdout = &out
	if err := Start(cmd, []int{1}); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatal(err)
	}
	if got := strings.Fields(out.String()); len(got) != 2 || got[1] != "1" {
		t.Errorf("child's Cpus_allowed_list = %q; want 1", out.String())
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var after unix.CPUSet
	if err := unix.SchedGetaffinity(0, &after); err != nil {
		t.Fatal(err)
	}
	if after.Count() < before.Count() {
		t.Errorf("calling thread left pinned: %d CPUs, had %d", after.Count(), before.Count())
	}
}

func TestStartBadCPUs(t *testing.T) {
	if err := Start(exec.Command("true"), []int{-1}); err == nil {
		t.Error("Start with CPU -1 succeeded; want error")
	}
}
