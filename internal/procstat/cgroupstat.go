package procstat

// This file reads a Cgroup's counters, and measures them over a window.

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// CgroupStat is a cgroup's counters at one instant.
type CgroupStat struct {
	// CPUNs is the CPU time of every task that has run in the cgroup,
	// living or gone and however reaped: cpuacct.usage (v1, in ns) or
	// cpu.stat's usage_usec (v2).
	CPUNs int64
	// UserNs and SysNs split it: cpuacct.usage_user and usage_sys (v1;
	// cpuacct.stat's clock ticks on kernels without them) or cpu.stat's
	// user_usec and system_usec (v2).
	UserNs, SysNs int64
	// ResolutionNs is the unit CPUNs was read in: 0 for nanoseconds (v1),
	// 1000 for v2's microseconds.
	ResolutionNs int64
	// MemoryBytes is the memory charged to the cgroup now (anonymous
	// memory and page cache, a shared page once), and MemoryPeakBytes the
	// highest since the cgroup was made or its peak was last reset; both
	// 0 when the cgroup has no memory controller.
	MemoryBytes, MemoryPeakBytes uint64
	// Procs is the number of processes in the cgroup.
	Procs int
}

// Read reads the cgroup's counters.
func (c *Cgroup) Read() (CgroupStat, error) {
	var s CgroupStat
	var err error
	if c.version == 2 {
		err = c.readCPUv2(&s)
	} else {
		err = c.readCPUv1(&s)
	}
	if err != nil {
		return CgroupStat{}, err
	}
	if c.mem != "" {
		cur, peak := "memory.usage_in_bytes", "memory.max_usage_in_bytes"
		if c.version == 2 {
			cur, peak = "memory.current", "memory.peak"
		}
		if s.MemoryBytes, err = readUint(filepath.Join(c.mem, cur)); err != nil {
			return CgroupStat{}, err
		}
		// memory.peak is Linux 5.19+: without it the peak stays 0.
		s.MemoryPeakBytes, _ = readUint(filepath.Join(c.mem, peak))
	}
	pids, err := c.PIDs()
	if err != nil {
		return CgroupStat{}, err
	}
	s.Procs = len(pids)
	return s, nil
}

func (c *Cgroup) readCPUv1(s *CgroupStat) error {
	usage, err := readUint(filepath.Join(c.cpu, "cpuacct.usage"))
	if err != nil {
		return err
	}
	s.CPUNs = int64(usage)
	user, uerr := readUint(filepath.Join(c.cpu, "cpuacct.usage_user"))
	sys, serr := readUint(filepath.Join(c.cpu, "cpuacct.usage_sys"))
	if uerr == nil && serr == nil {
		s.UserNs, s.SysNs = int64(user), int64(sys)
		return nil
	}
	kv, err := readKeyed(filepath.Join(c.cpu, "cpuacct.stat"))
	if err != nil {
		return err
	}
	tick := int64(time.Second) / clockTicks()
	s.UserNs, s.SysNs = int64(kv["user"])*tick, int64(kv["system"])*tick
	return nil
}

func (c *Cgroup) readCPUv2(s *CgroupStat) error {
	kv, err := readKeyed(filepath.Join(c.cpu, "cpu.stat"))
	if err != nil {
		return err
	}
	us := int64(time.Microsecond)
	s.CPUNs = int64(kv["usage_usec"]) * us
	s.UserNs, s.SysNs = int64(kv["user_usec"])*us, int64(kv["system_usec"])*us
	s.ResolutionNs = us
	return nil
}

// readUint reads a file holding one decimal number.
func readUint(file string) (uint64, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return 0, fmt.Errorf("procstat: cgroup: %w", err)
	}
	return parseUint(file, b)
}

func parseUint(file string, b []byte) (uint64, error) {
	v, err := strconv.ParseUint(string(bytes.TrimSpace(b)), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("procstat: cgroup: %s: %w", file, err)
	}
	return v, nil
}

// readKeyed reads a file of "key value" lines (cpu.stat, cpuacct.stat).
func readKeyed(file string) (map[string]uint64, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("procstat: cgroup: %w", err)
	}
	kv := make(map[string]uint64)
	for _, line := range bytes.Split(b, []byte("\n")) {
		f := bytes.Fields(line)
		if len(f) != 2 {
			continue
		}
		v, err := strconv.ParseUint(string(f[1]), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("procstat: cgroup: %s: %q: %w", file, line, err)
		}
		kv[string(f[0])] = v
	}
	return kv, nil
}

// CgroupWindow measures a cgroup over a window: CPU as the difference of
// two reads, memory as the peak over the window where the kernel lets the
// peak be reset. One window at a time per cgroup: v1 resets the peak for
// every reader.
type CgroupWindow struct {
	c     *Cgroup
	start CgroupStat
	// peak is v2's memory.peak, reset through it: since Linux 6.12 the
	// reset holds for reads through the same open file only.
	peak  *os.File
	reset bool
}

// CgroupCost is what a CgroupWindow measured.
type CgroupCost struct {
	// Source is SourceCgroupV1 or SourceCgroupV2.
	Source string
	// CPUNs, UserNs and SysNs are the deltas of CgroupStat's, good to
	// ResolutionNs.
	CPUNs, UserNs, SysNs, ResolutionNs int64
	// PeakBytes is the peak memory charged to the cgroup (anonymous
	// memory and page cache, a shared page once); 0 without the memory
	// controller. It is the window's when PeakInWindow; otherwise the
	// kernel could not reset it (v2 before Linux 6.12) and it is the
	// peak since the cgroup was made.
	PeakBytes    uint64
	PeakInWindow bool
}

// StartWindow resets the memory peak where the kernel allows and reads the
// counters at the start of a window.
func (c *Cgroup) StartWindow() (*CgroupWindow, error) {
	w := &CgroupWindow{c: c}
	if c.mem != "" {
		w.resetPeak()
	}
	s, err := c.Read()
	if err != nil {
		w.close()
		return nil, err
	}
	w.start = s
	return w, nil
}

func (w *CgroupWindow) resetPeak() {
	if w.c.version == 1 {
		w.reset = os.WriteFile(filepath.Join(w.c.mem, "memory.max_usage_in_bytes"), []byte("0"), 0) == nil
		return
	}
	f, err := os.OpenFile(filepath.Join(w.c.mem, "memory.peak"), os.O_RDWR, 0)
	if err != nil {
		return
	}
	if _, err := f.WriteString("reset\n"); err != nil {
		_ = f.Close()
		return
	}
	w.peak, w.reset = f, true
}

// Stop reads the counters at the end of the window and returns the
// deltas. Stop must be called once, to release the window's file.
func (w *CgroupWindow) Stop() (CgroupCost, error) {
	defer w.close()
	end, err := w.c.Read()
	if err != nil {
		return CgroupCost{}, err
	}
	cc := CgroupCost{
		Source:       w.c.Source(),
		CPUNs:        end.CPUNs - w.start.CPUNs,
		UserNs:       end.UserNs - w.start.UserNs,
		SysNs:        end.SysNs - w.start.SysNs,
		ResolutionNs: end.ResolutionNs,
		PeakBytes:    end.MemoryPeakBytes,
		PeakInWindow: w.reset,
	}
	if w.peak != nil {
		buf := make([]byte, 32)
		n, err := w.peak.ReadAt(buf, 0)
		if err != nil && n == 0 {
			return CgroupCost{}, fmt.Errorf("procstat: cgroup: memory.peak: %w", err)
		}
		if cc.PeakBytes, err = parseUint(w.peak.Name(), buf[:n]); err != nil {
			return CgroupCost{}, err
		}
	}
	if cc.CPUNs < 0 || cc.UserNs < 0 || cc.SysNs < 0 {
		return CgroupCost{}, errors.New("procstat: cgroup: CPU counters went backwards")
	}
	return cc, nil
}

func (w *CgroupWindow) close() {
	if w.peak != nil {
		_ = w.peak.Close()
		w.peak = nil
	}
}
