// Package fcgiaddr is the one spelling of a FastCGI daemon's address the
// suite uses on command lines and between processes: "unix:PATH",
// "tcp:HOST:PORT", or a bare "HOST:PORT". It is a leaf package of the
// standard library only, so that the sample app's binary (which parses
// its -fcgi flag with it) links nothing of the suite's.
package fcgiaddr

import (
	"fmt"
	"net"
	"strings"
)

// Parse splits s into a network ("unix" or "tcp") and an address for
// net.Listen and net.Dial. A tcp address must be HOST:PORT; a unix one a
// non-empty path.
func Parse(s string) (network, address string, err error) {
	switch {
	case strings.HasPrefix(s, "unix:"):
		network, address = "unix", strings.TrimPrefix(s, "unix:")
	case strings.HasPrefix(s, "tcp:"):
		network, address = "tcp", strings.TrimPrefix(s, "tcp:")
	default:
		network, address = "tcp", s
	}
	if address == "" {
		return "", "", fmt.Errorf("fcgiaddr: %q: empty address; want unix:PATH, tcp:HOST:PORT or HOST:PORT", s)
	}
	if network == "tcp" {
		if _, _, err := net.SplitHostPort(address); err != nil {
			return "", "", fmt.Errorf("fcgiaddr: %q: want unix:PATH, tcp:HOST:PORT or HOST:PORT: %w", s, err)
		}
	}
	return network, address, nil
}

// Format is the address Parse reads back as network and address.
func Format(network, address string) string { return network + ":" + address }
