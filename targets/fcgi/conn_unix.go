//go:build unix

package fcgi

import (
	"errors"
	"net"
	"syscall"
)

// peerClosed reports whether an idle connection can no longer carry a
// request: the daemon closed or reset it, or sent bytes nobody asked for.
// It peeks without blocking, one system call, so that a kept connection
// the daemon dropped is discarded before a request is sent on it rather
// than failing that request (Go's HTTP transport learns the same from a
// read it keeps pending on every idle connection). A connection that is
// not a socket (net.Pipe in tests) is assumed alive.
func peerClosed(c net.Conn) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return false
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return true
	}
	closed := false
	var b [1]byte
	err = rc.Read(func(fd uintptr) bool {
		_, _, err := syscall.Recvfrom(int(fd), b[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		// EAGAIN: nothing to read, the connection is alive. Anything
		// else is EOF (no error, no byte), stray bytes, or a socket error.
		closed = !errors.Is(err, syscall.EAGAIN) && !errors.Is(err, syscall.EINTR)
		return true
	})
	return closed || err != nil
}
