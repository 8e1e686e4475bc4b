package agent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Selector names the processes whose cost the agent serves: exactly one of
// PID, Pattern and Cgroup is set. The set is resolved again at every
// snapshot, so a restarted server is followed (and a window across the
// restart is reported as not observed, never as a negative cost).
type Selector struct {
	// PID is the root of the target's process tree.
	PID int
	// Pattern is a regular expression matched against each process's
	// name (/proc/PID/comm, at most 15 bytes); the roots are the
	// matching processes whose parent does not match, and the agent's
	// own process is never one.
	Pattern string
	// Cgroup is a cgroup directory: a path under /sys/fs/cgroup, or a
	// cgroup path as /proc/PID/cgroup writes it ("/system.slice/x"),
	// looked up under /sys/fs/cgroup and then under the hybrid layout's
	// /sys/fs/cgroup/unified. The roots are the processes in it and in
	// the cgroups below it.
	Cgroup string

	re *regexp.Regexp
}

// ErrSelector is wrapped by every error about a Selector.
var ErrSelector = errors.New("agent: bad target")

// CgroupRoot is where cgroup v2 is mounted.
const CgroupRoot = "/sys/fs/cgroup"

// compile checks that exactly one way is given.
func (s *Selector) compile() error {
	n := 0
	if s.PID != 0 {
		n++
		if s.PID < 0 {
			return fmt.Errorf("%w: pid %d", ErrSelector, s.PID)
		}
	}
	if s.Pattern != "" {
		n++
		re, err := regexp.Compile(s.Pattern)
		if err != nil {
			return fmt.Errorf("%w: pattern: %w", ErrSelector, err)
		}
		s.re = re
	}
	if s.Cgroup != "" {
		n++
		s.Cgroup = cgroupDir(s.Cgroup)
	}
	if n != 1 {
		return fmt.Errorf("%w: give exactly one of a pid, a process-name pattern or a cgroup", ErrSelector)
	}
	return nil
}

// String describes the selector as results record it.
func (s *Selector) String() string {
	switch {
	case s.PID != 0:
		return "pid " + strconv.Itoa(s.PID)
	case s.Pattern != "":
		return "pattern " + s.Pattern
	default:
		return "cgroup " + s.Cgroup
	}
}

// Roots returns the pids that are the roots of the target's process
// trees now; none is not an error (the server may be restarting).
func (s *Selector) Roots() ([]int, error) {
	switch {
	case s.PID != 0:
		if _, err := os.Stat("/proc/" + strconv.Itoa(s.PID)); err != nil {
			return nil, nil
		}
		return []int{s.PID}, nil
	case s.re != nil:
		return s.matching()
	default:
		return cgroupProcs(s.Cgroup)
	}
}

// matching returns the processes whose name matches and whose parent's
// does not.
func (s *Selector) matching() ([]int, error) {
	names, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	self := os.Getpid()
	match := map[int]int{} // pid → ppid
	for _, e := range names {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		comm, err := os.ReadFile("/proc/" + e.Name() + "/comm")
		if err != nil || !s.re.Match(bytes.TrimSpace(comm)) {
			continue
		}
		match[pid] = ppid(pid)
	}
	var roots []int
	for pid, pp := range match {
		if _, ok := match[pp]; !ok {
			roots = append(roots, pid)
		}
	}
	return roots, nil
}

// ppid reads a process's parent from /proc/PID/stat (0 if it is gone).
func ppid(pid int) int {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0
	}
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := bytes.Fields(b[i+1:])
	if len(f) < 2 {
		return 0
	}
	p, _ := strconv.Atoi(string(f[1]))
	return p
}

// cgroupDir finds the directory of a cgroup path (see Selector.Cgroup);
// when none holds a cgroup.procs the first candidate is returned, for
// Roots to report.
func cgroupDir(p string) string {
	var cands []string
	if strings.HasPrefix(filepath.Clean(p), CgroupRoot+"/") {
		cands = append(cands, filepath.Clean(p))
	}
	cands = append(cands, filepath.Join(CgroupRoot, p), filepath.Join(CgroupRoot, "unified", p))
	for _, c := range cands {
		if _, err := os.Stat(filepath.Join(c, "cgroup.procs")); err == nil {
			return c
		}
	}
	return cands[0]
}

// cgroupProcs lists the processes of dir and of every cgroup below it.
func cgroupProcs(dir string) ([]int, error) {
	if _, err := os.Stat(filepath.Join(dir, "cgroup.procs")); err != nil {
		return nil, fmt.Errorf("%w: %s is not a cgroup v2 directory: %w", ErrSelector, dir, err)
	}
	var pids []int
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // a child cgroup removed during the walk
			}
			return err
		}
		if d.IsDir() || d.Name() != "cgroup.procs" {
			return nil
		}
		f, err := os.Open(path)
		if err != nil {
			return nil
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if pid, err := strconv.Atoi(strings.TrimSpace(sc.Text())); err == nil {
				pids = append(pids, pid)
			}
		}
		return sc.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("agent: %w", err)
	}
	return pids, nil
}
