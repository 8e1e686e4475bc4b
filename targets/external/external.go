// Package external lets the suite measure a URL it does not start: a
// user's own server, or a real front started by hand. Its processes are
// not the suite's, so their cost cannot be observed and is reported as
// such.
package external

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"forkbench/targets"
)

// Target is an external URL.
type Target struct {
	name string
	base string
}

var _ targets.Target = (*Target)(nil)

// New checks that raw is an http URL on a loopback address and returns a
// target for it. Only loopback is allowed: forkbench sends load to another
// machine only when the user says so (NewAllowRemote, --allow-remote).
func New(name, raw string) (*Target, error) { return open(name, raw, false) }

// NewAllowRemote is New for a URL on any host: the user asked for load to
// be sent beyond this machine (--allow-remote), and the result file
// records it.
func NewAllowRemote(name, raw string) (*Target, error) { return open(name, raw, true) }

// IsLoopback reports whether host (a name or an address) is this
// machine's loopback: "localhost", 127.0.0.0/8 or ::1.
func IsLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func open(name, raw string, allowRemote bool) (*Target, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("external: bad URL %q: %w", raw, err)
	}
	if u.Scheme != "http" || u.Host == "" {
		return nil, fmt.Errorf("external: bad URL %q: want http://HOST:PORT", raw)
	}
	if host := u.Hostname(); !allowRemote && !IsLoopback(host) {
		return nil, fmt.Errorf("external: %q is not a loopback address; forkbench sends load to another machine only with --allow-remote", host)
	}
	if name == "" {
		name = "external"
	}
	return &Target{name: name, base: strings.TrimSuffix(u.Scheme+"://"+u.Host+u.Path, "/")}, nil
}

// Name is the label given to the URL.
func (t *Target) Name() string { return t.name }

// Start checks that the URL accepts connections, so an unreachable target
// is reported before any load is sent.
func (t *Target) Start(ctx context.Context) error {
	u, _ := url.Parse(t.base)
	host := u.Host
	if u.Port() == "" {
		host = net.JoinHostPort(u.Hostname(), "80")
	}
	d := net.Dialer{Timeout: 5 * time.Second}
	c, err := d.DialContext(ctx, "tcp", host)
	if err != nil {
		return fmt.Errorf("external: %s is unreachable: %w", t.base, err)
	}
	return c.Close()
}

// URL is the base URL.
func (t *Target) URL() string { return t.base }

// PIDs is nil: an external target's processes are not ours to observe.
func (t *Target) PIDs() []int { return nil }

// Stop does nothing: the suite did not start the target.
func (t *Target) Stop(context.Context) error { return nil }
