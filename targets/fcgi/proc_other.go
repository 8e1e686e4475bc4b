//go:build unix && !linux

package fcgi

import "syscall"

// sysProcAttr puts the daemon in its own process group, so that Stop can
// signal everything it started.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
