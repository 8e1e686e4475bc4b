//go:build !unix

package fcgi

import "net"

// peerClosed cannot peek without blocking here: an idle connection is
// assumed alive, and a request that finds it dead is retried (see
// Client.Do).
func peerClosed(net.Conn) bool { return false }
