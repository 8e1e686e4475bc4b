package fcgi

import "syscall"

// sysProcAttr puts the daemon in its own process group, so that Stop can
// signal everything it started, and has the kernel kill it should the front
// die without stopping it.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
