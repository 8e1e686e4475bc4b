package targets

// Process-group bookkeeping from /proc, for the deployments that start
// process trees (fcgi's daemon, the fronts' servers) and the tests that
// prove a stopped target left nothing behind.

import (
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Proc is what /proc/PID/stat says of a process that the bookkeeping of
// process groups needs.
type Proc struct {
	PID, PPID, PGID int
	// State is proc(5)'s state letter: 'Z' a zombie (dead, waiting for
	// its parent to reap it), 'X' dying.
	State byte
}

// Procs lists every process in /proc; those that exit during the scan are
// skipped. The error says /proc could not be listed (not Linux).
func Procs() ([]Proc, error) {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil, err
	}
	var procs []Proc
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) state ppid pgrp ...": comm may hold spaces and
		// parentheses, so the fields are counted from the last ')'.
		i := strings.LastIndexByte(string(b), ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 3 || len(f[0]) != 1 {
			continue
		}
		ppid, err1 := strconv.Atoi(f[1])
		pgid, err2 := strconv.Atoi(f[2])
		if err1 != nil || err2 != nil {
			continue
		}
		procs = append(procs, Proc{PID: pid, PPID: ppid, PGID: pgid, State: f[0][0]})
	}
	return procs, nil
}

// GroupMembers lists the live processes of process group pgid: zombies and
// dying processes do not count, they are dead already. Tests use it to
// prove a stopped target left nothing; nil where /proc cannot be read.
func GroupMembers(pgid int) []int {
	pids, _ := groupMembers(pgid)
	return pids
}

func groupMembers(pgid int) ([]int, error) {
	procs, err := Procs()
	var pids []int
	for _, p := range procs {
		if p.PGID == pgid && p.State != 'Z' && p.State != 'X' {
			pids = append(pids, p.PID)
		}
	}
	return pids, err
}

// GroupRunning reports whether any process of group pgid is still running.
// Zombies do not count where /proc tells them apart: the group's other
// members are init's to reap once their leader is gone, which some inits
// do lazily. Without /proc, any process left in the group counts.
func GroupRunning(pgid int) bool {
	if syscall.Kill(-pgid, 0) != nil {
		return false
	}
	pids, err := groupMembers(pgid)
	return err != nil || len(pids) > 0
}

// WaitGroupGone waits until no process of group pgid is running, or limit
// passes. Members other than the leader are not the caller's children and
// cannot be waited for; after SIGKILL they die at once.
func WaitGroupGone(pgid int, limit time.Duration) {
	if pgid <= 0 {
		return
	}
	deadline := time.Now().Add(limit)
	delay := 100 * time.Microsecond
	for GroupRunning(pgid) && time.Now().Before(deadline) {
		time.Sleep(delay)
		delay = min(2*delay, 20*time.Millisecond)
	}
}
