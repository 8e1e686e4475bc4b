//go:build unix && !linux

package fcgi

import "syscall"

// sysProcAttr puts the daemon in its own process group, so that Stop can
// signal everything it started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// groupRunning reports whether any process of group pgid is left, zombies
// included: without /proc they cannot be told apart.
func groupRunning(pgid int) bool {
	return syscall.Kill(-pgid, 0) == nil
}
