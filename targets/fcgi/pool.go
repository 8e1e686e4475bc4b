package fcgi

// This file is the connection pool that FCGI_KEEP_CONN makes possible: the
// front keeps connections to the daemon open between requests instead of
// paying a connect per request.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log"
	"net"
	"sync"
	"time"
)

// ErrPoolClosed is returned by Get after Close.
var ErrPoolClosed = errors.New("fcgi: pool closed")

// ErrPoolExhausted is returned by Get when MaxOpen connections stayed busy
// for QueueTimeout, or until the request's deadline: the daemon is at
// capacity, which a front answers promptly with 503 Service Unavailable and
// Retry-After rather than letting requests pile up.
var ErrPoolExhausted = errors.New("fcgi: every connection to the daemon is busy")

// Pool defaults; each applies where the matching field is zero.
const (
	// DefaultMaxOpen bounds the connections to the daemon, idle or busy.
	// net/http/fcgi serves each connection on its own goroutine, so the
	// bound protects the daemon's memory, not its concurrency.
	DefaultMaxOpen = 256
	// DefaultMaxIdle bounds the connections kept open between requests.
	DefaultMaxIdle = 64
	// DefaultDialTimeout bounds one connect to the daemon.
	DefaultDialTimeout = 5 * time.Second
	// DefaultQueueTimeout bounds the wait for a busy pool, as the CGI
	// host bounds the wait for a child slot: about a second, then 503.
	DefaultQueueTimeout = time.Second
	// closedAfterOneLimit is how many kept connections in a row the daemon
	// may close after their first request before the pool stops keeping
	// connections (see Pool.KeepingStopped).
	closedAfterOneLimit = 3
)

// readBufSize is the size of each connection's read buffer: large enough
// that a full 64 KiB STDOUT record arrives in few reads.
const readBufSize = 16 << 10

// Pool hands out connections to one FastCGI daemon, reusing those that
// finished a request cleanly. A connection that saw any error is closed,
// never reused. The zero value is not usable: set Network and Address, or
// Dial. Pool is safe for concurrent use.
type Pool struct {
	// Network is "unix" or "tcp"; Address the socket path or host:port.
	Network, Address string
	// Dial, if non-nil, replaces dialing Network and Address; tests use it
	// to hand the client one end of a net.Pipe.
	Dial func(ctx context.Context) (net.Conn, error)
	// DialTimeout bounds each connect; 0 means DefaultDialTimeout.
	DialTimeout time.Duration
	// MaxOpen bounds open connections; 0 means DefaultMaxOpen. When every
	// one is busy, Get waits for one to be returned (Stats counts the waits).
	MaxOpen int
	// MaxIdle bounds connections kept for reuse; 0 means DefaultMaxIdle, a
	// negative value keeps none. Extra connections are closed when
	// returned (Stats counts them).
	MaxIdle int
	// QueueTimeout bounds how long Get waits while MaxOpen connections
	// are busy before it fails with ErrPoolExhausted; 0 means
	// DefaultQueueTimeout, a negative value fails at once. The wait never
	// outlasts the deadline Get is given.
	QueueTimeout time.Duration
	// ErrorLog receives the one line saying the pool stopped keeping
	// connections; nil means the log package's standard logger.
	ErrorLog *log.Logger

	mu       sync.Mutex
	idle     []*Conn
	open     int
	waiters  []chan *Conn // FIFO; a nil send transfers a slot to dial with
	closed   bool
	stats    PoolStats
	oneShots int  // kept connections in a row the daemon closed after one request
	noKeep   bool // the daemon closes kept connections: stop keeping them
}

// PoolStats counts what the pool did, so that its bounds, when hit, show in
// the report rather than as unexplained latency.
type PoolStats struct {
	Dials     int // connections opened
	DialErrs  int // connects that failed
	Reuses    int // requests served on a kept connection
	Waits     int // Gets that found MaxOpen connections busy and waited
	Exhausted int // Gets that gave up waiting (ErrPoolExhausted)
	Discarded int // connections closed because they saw an error or were not kept
	IdleFull  int // healthy connections closed because MaxIdle were idle
	PeerGone  int // kept connections found closed by the daemon before reuse
	Open      int // connections open now
	Idle      int // connections idle now
	// KeepStopped reports that the daemon closed closedAfterOneLimit kept
	// connections in a row after their first request, so the pool stopped
	// keeping any (see Pool.KeepingStopped).
	KeepStopped bool
}

// Conn is one connection to the daemon with its read buffer. served counts
// the requests it completed; a failure on a connection that already served
// one may be retried on a fresh connection.
type Conn struct {
	net.Conn
	br     *bufio.Reader
	served int
}

// reused reports whether c already served a request.
func (c *Conn) reused() bool { return c.served > 0 }

func (p *Pool) maxOpen() int {
	if p.MaxOpen > 0 {
		return p.MaxOpen
	}
	return DefaultMaxOpen
}

func (p *Pool) maxIdle() int {
	switch {
	case p.MaxIdle > 0:
		return p.MaxIdle
	case p.MaxIdle < 0:
		return 0
	}
	return DefaultMaxIdle
}

// Get returns an idle connection or dials a new one, waiting within ctx
// (and at most QueueTimeout) while MaxOpen connections are busy.
func (p *Pool) Get(ctx context.Context) (*Conn, error) {
	return p.get(ctx, time.Time{}, true)
}

// get is Get with the request's deadline (zero for none), which bounds the
// wait for a busy pool: the wait is part of the request's time. check says
// whether a kept connection is peeked at (one system call) before it is
// handed out; a caller that can retry a request lost on a dead connection
// skips it.
func (p *Pool) get(ctx context.Context, deadline time.Time, check bool) (*Conn, error) {
	for {
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			return nil, ErrPoolClosed
		}
		n := len(p.idle)
		if n == 0 {
			break
		}
		c := p.idle[n-1]
		p.idle[n-1] = nil
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		if check && peerClosed(c.Conn) {
			// The daemon closed it while idle (a restart, an idle
			// timeout, or a daemon that ignores FCGI_KEEP_CONN).
			_ = c.Close()
			p.release(func(s *PoolStats) { s.PeerGone++; p.noteOneShot(c) })
			continue
		}
		p.mu.Lock()
		p.stats.Reuses++
		p.mu.Unlock()
		return c, nil
	}
	if p.open < p.maxOpen() {
		p.open++
		p.mu.Unlock()
		return p.dial(ctx)
	}
	wait := p.QueueTimeout
	if wait == 0 {
		wait = DefaultQueueTimeout
	}
	if !deadline.IsZero() {
		wait = min(wait, time.Until(deadline))
	}
	if wait <= 0 {
		p.stats.Exhausted++
		p.mu.Unlock()
		return nil, fmt.Errorf("%w (MaxOpen=%d, no wait allowed)", ErrPoolExhausted, p.maxOpen())
	}
	ch := make(chan *Conn, 1)
	p.waiters = append(p.waiters, ch)
	p.stats.Waits++
	p.mu.Unlock()

	t := time.NewTimer(wait)
	defer t.Stop()
	var err error
	select {
	case c := <-ch:
		return p.handed(ctx, c)
	case <-ctx.Done():
		err = fmt.Errorf("fcgi: waiting for a connection: %w", ctx.Err())
	case <-t.C:
		err = fmt.Errorf("%w: waited %v for one of MaxOpen=%d", ErrPoolExhausted, wait.Round(time.Millisecond), p.maxOpen())
	}
	p.mu.Lock()
	if errors.Is(err, ErrPoolExhausted) {
		p.stats.Exhausted++
	}
	for i, w := range p.waiters {
		if w == ch {
			p.waiters = append(p.waiters[:i], p.waiters[i+1:]...)
			p.mu.Unlock()
			return nil, err
		}
	}
	p.mu.Unlock()
	// Put handed us something after all; give it back.
	if c := <-ch; c != nil {
		p.Put(c, true)
	} else {
		p.release(nil)
	}
	return nil, err
}

// noteOneShot records that the daemon closed c, a kept connection; p.mu is
// held. After closedAfterOneLimit such connections in a row that had
// served exactly one request, the daemon evidently closes every
// connection after its request whatever FCGI_KEEP_CONN says (uWSGI's
// FastCGI socket does), and keeping them only sets up requests to fail.
func (p *Pool) noteOneShot(c *Conn) {
	if c.served != 1 {
		p.oneShots = 0
		return
	}
	p.oneShots++
	if p.oneShots < closedAfterOneLimit || p.noKeep {
		return
	}
	p.noKeep = true
	l := p.ErrorLog
	if l == nil {
		l = log.Default()
	}
	l.Printf("fcgi: the daemon at %s %s closed %d kept connections in a row after one request each; no longer keeping connections (FCGI_KEEP_CONN off)", p.Network, p.Address, p.oneShots)
}

// KeepingStopped reports whether the pool found that the daemon closes
// every connection after one request and stopped keeping them: the client
// then stops asking for FCGI_KEEP_CONN.
func (p *Pool) KeepingStopped() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.noKeep
}

// lostKept records that c, a kept connection, turned out to be closed by
// the daemon when a request was sent on it.
func (p *Pool) lostKept(c *Conn) {
	p.mu.Lock()
	p.stats.PeerGone++
	p.noteOneShot(c)
	p.mu.Unlock()
}

// handed turns what Put passed a waiter into a connection: a kept one, or
// (nil) a slot to dial with.
func (p *Pool) handed(ctx context.Context, c *Conn) (*Conn, error) {
	p.mu.Lock()
	closed := p.closed
	if c != nil && !closed {
		p.stats.Reuses++
	}
	p.mu.Unlock()
	switch {
	case closed && c != nil:
		p.Put(c, false)
		return nil, ErrPoolClosed
	case closed:
		p.release(nil)
		return nil, ErrPoolClosed
	case c != nil:
		return c, nil
	}
	return p.dial(ctx)
}

// dial opens a connection for a slot already counted in p.open, giving the
// slot back on failure.
func (p *Pool) dial(ctx context.Context) (*Conn, error) {
	c, err := p.connect(ctx)
	if err != nil {
		p.release(func(s *PoolStats) { s.DialErrs++ })
		return nil, err
	}
	p.mu.Lock()
	p.stats.Dials++
	p.mu.Unlock()
	return c, nil
}

// connect dials the daemon within DialTimeout, outside the accounting.
func (p *Pool) connect(ctx context.Context) (*Conn, error) {
	timeout := p.DialTimeout
	if timeout <= 0 {
		timeout = DefaultDialTimeout
	}
	dctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var (
		nc  net.Conn
		err error
	)
	if p.Dial != nil {
		nc, err = p.Dial(dctx)
	} else {
		var d net.Dialer
		nc, err = d.DialContext(dctx, p.Network, p.Address)
	}
	if err != nil {
		return nil, fmt.Errorf("fcgi: dial %s %s: %w", p.Network, p.Address, err)
	}
	return &Conn{Conn: nc, br: bufio.NewReaderSize(nc, readBufSize)}, nil
}

// release gives up one open slot, passing it to the first waiter if any.
func (p *Pool) release(count func(*PoolStats)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if count != nil {
		count(&p.stats)
	}
	if len(p.waiters) > 0 && !p.closed {
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		w <- nil
		return
	}
	p.open--
}

// Put returns c after a request. A connection is kept only if reusable is
// true: the request ended with END_REQUEST, nothing unread was left and no
// error occurred on it. Anything else is closed.
func (p *Pool) Put(c *Conn, reusable bool) {
	if !reusable {
		_ = c.Close()
		p.release(func(s *PoolStats) { s.Discarded++ })
		return
	}
	c.served++
	p.mu.Lock()
	if c.served > 1 {
		p.oneShots = 0 // the daemon does keep connections
	}
	if p.noKeep && !p.closed {
		// The daemon closes it anyway; its slot goes to a waiter.
		p.mu.Unlock()
		_ = c.Close()
		p.release(func(s *PoolStats) { s.Discarded++ })
		return
	}
	switch {
	case p.closed:
	case len(p.waiters) > 0:
		w := p.waiters[0]
		p.waiters = p.waiters[1:]
		p.mu.Unlock()
		w <- c
		return
	case len(p.idle) < p.maxIdle():
		p.idle = append(p.idle, c)
		p.mu.Unlock()
		return
	default:
		p.stats.IdleFull++
	}
	p.open--
	p.mu.Unlock()
	_ = c.Close()
}

// CloseIdle closes the idle connections, e.g. after the daemon restarted
// and they all lead to a dead process.
func (p *Pool) CloseIdle() {
	p.mu.Lock()
	idle := p.idle
	p.idle = nil
	p.open -= len(idle)
	p.mu.Unlock()
	for _, c := range idle {
		_ = c.Close()
	}
}

// Close closes the idle connections and makes Get fail; busy connections
// are closed as they are returned.
func (p *Pool) Close() error {
	p.mu.Lock()
	p.closed = true
	waiters := p.waiters
	p.waiters = nil
	// Each waiter is woken with a slot, which it gives back on seeing the
	// pool closed; count those slots so the books balance.
	p.open += len(waiters)
	p.mu.Unlock()
	for _, w := range waiters {
		w <- nil
	}
	p.CloseIdle()
	return nil
}

// Stats returns a snapshot of the pool's counters.
func (p *Pool) Stats() PoolStats {
	p.mu.Lock()
	defer p.mu.Unlock()
	s := p.stats
	s.Open = p.open
	s.Idle = len(p.idle)
	s.KeepStopped = p.noKeep
	return s
}
