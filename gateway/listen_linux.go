package gateway

import "syscall"

// stdinListening reports whether fd 0 is a listening socket, the
// FCGI_LISTENSOCK_FILENO convention of FastCGI process managers.
func stdinListening() bool {
	v, err := syscall.GetsockoptInt(0, syscall.SOL_SOCKET, syscall.SO_ACCEPTCONN)
	return err == nil && v == 1
}
