package targets

import (
	"os"
	"os/exec"
	"slices"
	"syscall"
	"testing"
	"time"
)

func TestProcsSeesThisProcess(t *testing.T) {
	procs, err := Procs()
	if err != nil {
		t.Skipf("no /proc: %v", err)
	}
	want := Proc{PID: os.Getpid(), PPID: os.Getppid(), PGID: syscall.Getpgrp()}
	i := slices.IndexFunc(procs, func(p Proc) bool { return p.PID == want.PID })
	if i < 0 {
		t.Fatalf("Procs() lacks this process %d", want.PID)
	}
	if got := procs[i]; got.PPID != want.PPID || got.PGID != want.PGID || got.State == 'Z' {
		t.Errorf("Procs() says %+v of this process; want PPID %d, PGID %d, not a zombie", got, want.PPID, want.PGID)
	}
	if m := GroupMembers(want.PGID); !slices.Contains(m, want.PID) {
		t.Errorf("GroupMembers(%d) = %v; want this process %d among them", want.PGID, m, want.PID)
	}
}

// TestGroupGone starts a process group, kills it and waits for it: a
// zombie leader not yet reaped does not count as running.
func TestGroupGone(t *testing.T) {
	cmd := exec.Command("sleep", "300")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pgid := cmd.Process.Pid
	if !GroupRunning(pgid) {
		t.Errorf("GroupRunning(%d) = false with its leader asleep", pgid)
	}
	if err := syscall.Kill(-pgid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	WaitGroupGone(pgid, 10*time.Second)
	if m := GroupMembers(pgid); len(m) > 0 {
		t.Errorf("GroupMembers(%d) = %v after SIGKILL and WaitGroupGone; want none", pgid, m)
	}
	if _, err := Procs(); err == nil && GroupRunning(pgid) {
		t.Errorf("GroupRunning(%d) = true with only a zombie left", pgid)
	}
	cmd.Wait()
	if GroupRunning(pgid) {
		t.Errorf("GroupRunning(%d) = true after the leader was reaped", pgid)
	}
}
