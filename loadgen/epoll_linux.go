package loadgen

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"runtime"
	"slices"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/sys/unix"
)

// epollLoop is the load engine on raw epoll: one goroutine, locked to its
// OS thread, drives every connection with non-blocking sockets and
// level-triggered epoll, the way wrk does in C. In the closed model each
// connection sends its next request as soon as the last one is answered;
// in the open model (sched set, see epoll_open_linux.go) each sends on its
// own schedule, the way wrk2 does.
//
// Why not goroutines and fasthttp (closedLoop)? Against a fast target the
// generator's own CPU per request is what limits, or skews, the figures,
// and a goroutine per connection pays for the Go netpoller (a park and a
// wake-up per read, each through the scheduler) and for fasthttp's
// per-request bookkeeping: about 19 µs of CPU per request against wrk's
// 13 µs. Here a request costs its send, its read(s), its parse and two
// clock reads, with nothing allocated in the steady state: the request's
// bytes are built once, each connection reads into its own reusable
// buffer, the parser only counts body bytes, and one vegeta.Result is
// reused for every delivery.
//
// Why level-triggered? A connection is read once per readiness report and
// re-reported while data remain, so no connection can starve the others,
// and nothing needs to read until EAGAIN.
//
// Every field but those under "Stop" is owned by the engine's goroutine.
type epollLoop struct {
	addr     string        // host:port as given, for error texts
	sa       unix.Sockaddr // addr resolved once
	family   int
	req      []byte // the request, sent as is every time
	head     bool   // req is a HEAD request: responses have no body
	reqClose bool   // req says Connection: close: one request per connection
	bodyLen  uint64 // BytesOut of an answered request
	timeout  time.Duration
	end      time.Time // no request is sent from then on
	// deliver receives every result and, in the open model, its
	// intended send time (zero in the closed model).
	deliver func(*vegeta.Result, time.Time)

	// Open model only (sched nil in the closed model).
	sched   *OpenSchedule
	origin  time.Time     // the schedule's time zero
	endDue  time.Duration // end after origin: no slot due from then on is sent
	idle    []int32       // min-heap by next due time of connections waiting for it
	unsent  uint64        // slots due before the end that were never sent
	noPwait bool          // epoll_pwait2 is missing: wait in milliseconds
	// lastCall is set while the slots due before the end are sent at
	// its first turn after it (a wait may end late by the timer slack).
	lastCall bool
	yielded  time.Time // when raw waits last yielded the P

	epfd     int
	conns    []econn
	events   []unix.EpollEvent
	redials  []int32 // connections to dial at the next turn of the loop
	spare    []int32 // redials' other buffer, so that the list never grows
	open     int     // connections with a socket
	seq      uint64
	res      vegeta.Result
	stopping bool          // no new request: finishing those in flight
	nextScan time.Time     // when to look for expired requests next
	scanGap  time.Duration // how often to look
	errTexts map[errKey]string

	// Stop: safe from any goroutine.
	stopped  atomic.Bool
	stopOnce sync.Once
	mu       sync.Mutex // guards efd against Stop racing the engine's exit
	efd      int        // eventfd in epoll that wakes the engine on Stop; -1 once closed
	done     chan struct{}
}

// econn is one connection of an epollLoop.
type econn struct {
	idx       int32
	fd        int // -1 when there is no socket
	state     econnState
	out       bool // EPOLLOUT is in the connection's epoll mask
	wpos      int  // bytes of the request written
	rbuf      []byte
	rstart    int // unparsed bytes are rbuf[rstart:rend]
	rend      int
	p         respParser
	seq       uint64    // Seq of the request in flight
	sent      time.Time // when the request in flight was sent
	dialStart time.Time

	// Open model only.
	cs       connSchedule  // the connection's next slot
	intended time.Duration // due time of the request in flight
	queued   bool          // in the idle heap
}

type econnState uint8

const (
	ecClosed  econnState = iota // no socket, or one with no request in flight
	ecDialing                   // a non-blocking connect is pending
	ecBusy                      // a request is in flight
)

// Sizes of the engine's buffers.
const (
	// epollReadBuf is a connection's initial read buffer. Only an
	// incomplete line is kept across reads (bodies are counted, not
	// kept), so it grows only for a response head larger than itself,
	// up to maxResponseHead.
	epollReadBuf = 64 << 10
	// epollMaxEvents bounds one epoll_wait's batch.
	epollMaxEvents = 1024
	// epollMaxWait bounds a wait so that expired requests and the run's
	// end are noticed within it.
	epollMaxWait = 10 * time.Millisecond
)

// stopIndex marks the stop eventfd in an epoll event's data.
const stopIndex = -1

// Epoll masks of a connection.
const (
	evRead  = unix.EPOLLIN | unix.EPOLLRDHUP
	evWrite = unix.EPOLLOUT
)

// errOp is the operation an error text is for; errKey caches the texts so
// that a steady stream of failures (a refusing target) allocates nothing.
type errOp uint8

const (
	opDial errOp = iota
	opRead
	opWrite
)

type errKey struct {
	op    errOp
	errno unix.Errno
}

const errTimeout = "timeout awaiting response"

// startEpoll dials conns connections to addr ("127.0.0.1:8080", plain TCP,
// HTTP/1.1, no TLS) and keeps each busy with req (a complete serialized
// HTTP/1.1 request, reused for every send) until d has elapsed or Stop is
// called. Every answered or failed request is handed to deliver
// (synchronously, from the engine's goroutine; deliver must not keep the
// *vegeta.Result, which is reused). timeout (0 = none) bounds each
// request from its send to its last response byte, and each dial; on
// expiry the connection is closed, the request reported with an error
// text containing "timeout", and the connection re-dialled. Requests in
// flight when the run ends are awaited (with no timeout, for ever), so
// that every request sent is delivered exactly once. Done is closed when
// the engine has stopped and delivered its last result.
func startEpoll(addr string, req []byte, bodyLen int, conns int, d, timeout time.Duration, deliver func(*vegeta.Result, time.Time)) (*epollLoop, error) {
	l, err := newEpoll(addr, req, bodyLen, conns, time.Now().Add(d), timeout, deliver)
	if err != nil {
		return nil, err
	}
	go l.run()
	return l, nil
}

// newEpoll builds an engine that runs until end, with its epoll and stop
// eventfd open and every connection queued for a dial.
func newEpoll(addr string, req []byte, bodyLen int, conns int, end time.Time, timeout time.Duration, deliver func(*vegeta.Result, time.Time)) (*epollLoop, error) {
	if conns <= 0 {
		return nil, fmt.Errorf("loadgen: epoll: %d connections", conns)
	}
	if deliver == nil {
		return nil, errors.New("loadgen: epoll: nil deliver")
	}
	if len(req) == 0 {
		return nil, errors.New("loadgen: epoll: empty request")
	}
	sa, family, err := sockaddr(addr)
	if err != nil {
		return nil, err
	}
	l := &epollLoop{
		addr: addr, sa: sa, family: family,
		req:      slices.Clone(req),
		head:     bytes.HasPrefix(req, []byte("HEAD ")),
		reqClose: requestCloses(req),
		bodyLen:  uint64(max(bodyLen, 0)),
		timeout:  max(timeout, 0),
		end:      end,
		deliver:  deliver,
		conns:    make([]econn, conns),
		events:   make([]unix.EpollEvent, min(conns+1, epollMaxEvents)),
		redials:  make([]int32, 0, conns),
		spare:    make([]int32, 0, conns),
		errTexts: make(map[errKey]string),
		scanGap:  min(max(timeout/20, time.Millisecond), epollMaxWait),
		epfd:     -1,
		efd:      -1,
		done:     make(chan struct{}),
	}
	if l.epfd, err = unix.EpollCreate1(unix.EPOLL_CLOEXEC); err != nil {
		return nil, fmt.Errorf("loadgen: epoll_create1: %w", err)
	}
	if l.efd, err = unix.Eventfd(0, unix.EFD_NONBLOCK|unix.EFD_CLOEXEC); err != nil {
		_ = unix.Close(l.epfd)
		return nil, fmt.Errorf("loadgen: eventfd: %w", err)
	}
	ev := unix.EpollEvent{Events: unix.EPOLLIN, Fd: stopIndex}
	if err := unix.EpollCtl(l.epfd, unix.EPOLL_CTL_ADD, l.efd, &ev); err != nil {
		_ = unix.Close(l.efd)
		_ = unix.Close(l.epfd)
		return nil, fmt.Errorf("loadgen: epoll_ctl eventfd: %w", err)
	}
	for i := range l.conns {
		l.conns[i] = econn{idx: int32(i), fd: -1, rbuf: make([]byte, epollReadBuf)}
		l.redials = append(l.redials, int32(i))
	}
	return l, nil
}

// sockaddr resolves addr once, so that re-dials cost no lookup.
func sockaddr(addr string) (unix.Sockaddr, int, error) {
	ta, err := net.ResolveTCPAddr("tcp", addr)
	if err != nil {
		return nil, 0, fmt.Errorf("loadgen: epoll: resolve %q: %w", addr, err)
	}
	if ip4 := ta.IP.To4(); ip4 != nil {
		return &unix.SockaddrInet4{Port: ta.Port, Addr: [4]byte(ip4)}, unix.AF_INET, nil
	}
	if ip6 := ta.IP.To16(); ip6 != nil {
		sa := &unix.SockaddrInet6{Port: ta.Port, Addr: [16]byte(ip6)}
		if ta.Zone != "" {
			ifi, err := net.InterfaceByName(ta.Zone)
			if err != nil {
				return nil, 0, fmt.Errorf("loadgen: epoll: zone of %q: %w", addr, err)
			}
			sa.ZoneId = uint32(ifi.Index)
		}
		return sa, unix.AF_INET6, nil
	}
	return nil, 0, fmt.Errorf("loadgen: epoll: %q is not an IP address", addr)
}

// requestCloses reports whether the serialized request req has a
// Connection header with the close token.
func requestCloses(req []byte) bool {
	end := bytes.Index(req, []byte("\r\n\r\n"))
	if end < 0 {
		end = len(req)
	}
	lines := bytes.Split(req[:end], []byte("\r\n"))
	for _, line := range lines[min(1, len(lines)):] {
		name, value, ok := bytes.Cut(line, []byte(":"))
		if ok && asciiEqualFold(bytes.TrimSpace(name), "connection") && hasToken(value, "close") {
			return true
		}
	}
	return false
}

// Stop makes the engine send no new request and finish those in flight.
// It is idempotent and safe from any goroutine.
func (l *epollLoop) Stop() {
	l.stopOnce.Do(func() {
		l.stopped.Store(true)
		l.mu.Lock()
		defer l.mu.Unlock()
		if l.efd >= 0 {
			one := [8]byte{1} // an eventfd counter, host (little-endian) order
			_, _ = unix.Write(l.efd, one[:])
		}
	})
}

// Done is closed when the engine has stopped, delivered its last result
// and closed every file descriptor it opened.
func (l *epollLoop) Done() <-chan struct{} { return l.done }

// run is the engine's goroutine.
func (l *epollLoop) run() {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	defer close(l.done)
	defer l.shutdown()
	for {
		now := time.Now()
		if !l.stopping && (l.stopped.Load() || !now.Before(l.end)) {
			if l.sched != nil && !l.stopped.Load() {
				// Slots due before the end, on connections idle at
				// it, when the wait for them ended late.
				l.lastCall = true
				l.sendDue(now)
				l.lastCall = false
			}
			l.beginStop(now)
		}
		if l.timeout > 0 && !now.Before(l.nextScan) {
			l.expire(now)
			l.nextScan = now.Add(l.scanGap)
		}
		if l.stopping && l.open == 0 {
			return
		}
		if len(l.redials) > 0 {
			l.dialPending(now)
		}
		var n int
		var err error
		if l.sched != nil {
			n, err = l.waitOpen(now)
		} else {
			n, err = unix.EpollWait(l.epfd, l.events, l.waitMillis(now))
		}
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			l.abort("loadgen: epoll_wait: " + err.Error())
			return
		}
		for _, ev := range l.events[:n] {
			if ev.Fd == stopIndex {
				var buf [8]byte
				_, _ = unix.Read(l.efd, buf[:]) // drain, or it stays readable
				continue
			}
			c := &l.conns[ev.Fd]
			if c.fd >= 0 {
				l.handle(c, ev.Events)
			}
		}
	}
}

// waitMillis is the epoll_wait timeout: none when connections await a
// dial, else until the run's end, at most epollMaxWait.
func (l *epollLoop) waitMillis(now time.Time) int {
	if len(l.redials) > 0 {
		return 0
	}
	wait := epollMaxWait
	if !l.stopping {
		wait = min(wait, l.end.Sub(now))
	}
	if wait <= 0 {
		return 0
	}
	return int((wait + time.Millisecond - 1) / time.Millisecond)
}

// beginStop ends the run at now: connections with no request in flight
// are closed, the others once their request is answered or has failed.
func (l *epollLoop) beginStop(now time.Time) {
	l.stopping = true
	l.redials = l.redials[:0]
	if l.sched != nil {
		l.countUnsent(now)
	}
	for i := range l.conns {
		if c := &l.conns[i]; c.state != ecBusy {
			l.closeConn(c)
		}
	}
}

// abort fails every request in flight with text and closes everything.
func (l *epollLoop) abort(text string) {
	l.stopping = true
	for i := range l.conns {
		c := &l.conns[i]
		if c.state == ecBusy {
			l.fail(c, text)
		}
		l.closeConn(c)
	}
}

// shutdown closes every file descriptor.
func (l *epollLoop) shutdown() {
	l.stopping = true
	for i := range l.conns {
		l.closeConn(&l.conns[i])
	}
	_ = unix.Close(l.epfd)
	l.mu.Lock()
	defer l.mu.Unlock()
	_ = unix.Close(l.efd)
	l.efd = -1
}

// dialPending dials the connections waiting for it. One that fails at
// once is queued again for the next turn of the loop, so that a refusing
// target costs one attempt per connection per turn, not a spin here.
func (l *epollLoop) dialPending(now time.Time) {
	list := l.redials
	l.redials = l.spare[:0]
	for _, i := range list {
		if l.stopping {
			break
		}
		l.dial(&l.conns[i], now)
	}
	l.spare = list[:0]
}

func (l *epollLoop) dial(c *econn, now time.Time) {
	c.dialStart = now
	fd, err := unix.Socket(l.family, unix.SOCK_STREAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.IPPROTO_TCP)
	if err != nil {
		l.failDial(c, l.errText(opDial, err))
		return
	}
	c.fd = fd
	l.open++
	// Requests are small and each is written whole: send it now.
	_ = unix.SetsockoptInt(fd, unix.IPPROTO_TCP, unix.TCP_NODELAY, 1)
	err = unix.Connect(fd, l.sa)
	switch {
	case err == nil:
		if err := l.ctl(unix.EPOLL_CTL_ADD, c, evRead); err != nil {
			l.failDial(c, l.errText(opDial, err))
			return
		}
		l.ready(c)
	case errors.Is(err, unix.EINPROGRESS):
		if err := l.ctl(unix.EPOLL_CTL_ADD, c, evWrite); err != nil {
			l.failDial(c, l.errText(opDial, err))
			return
		}
		c.state = ecDialing
	default:
		l.failDial(c, l.errText(opDial, err))
	}
}

// ctl adds or modifies c's epoll registration.
func (l *epollLoop) ctl(op int, c *econn, events uint32) error {
	ev := unix.EpollEvent{Events: events, Fd: c.idx}
	c.out = events&unix.EPOLLOUT != 0
	return unix.EpollCtl(l.epfd, op, c.fd, &ev)
}

// handle acts on c's readiness.
func (l *epollLoop) handle(c *econn, events uint32) {
	switch c.state {
	case ecDialing:
		l.connected(c)
	case ecBusy:
		if events&unix.EPOLLOUT != 0 && c.wpos < len(l.req) {
			if !l.write(c) {
				return
			}
		}
		if events&(unix.EPOLLIN|unix.EPOLLRDHUP|unix.EPOLLHUP|unix.EPOLLERR) != 0 {
			l.read(c)
		}
	default:
		// Data or a hang-up with no request in flight: only possible
		// once stopping, and those connections are closed already.
		l.closeConn(c)
		l.redial(c)
	}
}

// connected completes a non-blocking connect.
func (l *epollLoop) connected(c *econn) {
	soerr, err := unix.GetsockoptInt(c.fd, unix.SOL_SOCKET, unix.SO_ERROR)
	if err == nil && soerr != 0 {
		err = unix.Errno(soerr)
	}
	if err == nil {
		err = l.ctl(unix.EPOLL_CTL_MOD, c, evRead)
	}
	if err != nil {
		l.failDial(c, l.errText(opDial, err))
		return
	}
	l.ready(c)
}

// ready puts c, connected, to work: at once in the closed model, when its
// next request is due in the open model.
func (l *epollLoop) ready(c *econn) {
	if l.sched != nil {
		l.release(c, time.Now())
		return
	}
	l.startRequest(c)
}

// startRequest sends the next request on c, a connection with none in
// flight, or closes c when the run is over. It reports whether c now has
// a request in flight.
func (l *epollLoop) startRequest(c *econn) bool {
	now := time.Now()
	if l.stopping || l.stopped.Load() || (!l.lastCall && !now.Before(l.end)) {
		l.closeConn(c)
		if !l.stopping {
			l.beginStop(now)
		}
		return false
	}
	if l.sched != nil {
		c.seq, c.intended = c.cs.slot, c.cs.due
		c.cs.advance()
	} else {
		c.seq = l.seq
		l.seq++
	}
	c.sent = now
	c.wpos = 0
	c.p.reset(l.head)
	c.state = ecBusy
	return l.write(c)
}

// write writes what is left of the request, watching EPOLLOUT only while
// some is left. It reports false when c failed.
func (l *epollLoop) write(c *econn) bool {
	for c.wpos < len(l.req) {
		n, err := send(c.fd, l.req[c.wpos:])
		switch {
		case err == nil:
			c.wpos += n
		case err == unix.EINTR:
		case err == unix.EAGAIN:
			if !c.out {
				if err := l.ctl(unix.EPOLL_CTL_MOD, c, evRead|evWrite); err != nil {
					l.fail(c, l.errText(opWrite, err))
					return false
				}
			}
			return true
		default:
			l.fail(c, l.errText(opWrite, err))
			return false
		}
	}
	if c.out {
		if err := l.ctl(unix.EPOLL_CTL_MOD, c, evRead); err != nil {
			l.fail(c, l.errText(opWrite, err))
			return false
		}
	}
	return true
}

// send is write(2) with MSG_NOSIGNAL: a peer's reset fails the write with
// EPIPE rather than raising SIGPIPE (which the Go runtime would ignore,
// but only after taking the signal). It allocates nothing.
func send(fd int, p []byte) (int, error) {
	n, _, errno := unix.Syscall6(unix.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(unsafe.SliceData(p))),
		uintptr(len(p)), unix.MSG_NOSIGNAL, 0, 0)
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// read reads once into c's buffer and parses what it holds.
func (l *epollLoop) read(c *econn) {
	if c.rend == len(c.rbuf) {
		if c.rstart > 0 {
			c.rend = copy(c.rbuf, c.rbuf[c.rstart:c.rend])
			c.rstart = 0
		} else {
			// An incomplete line fills the buffer; the parser bounds
			// how long a line may be, so this ends.
			c.rbuf = append(c.rbuf, make([]byte, len(c.rbuf))...)
		}
	}
	n, err := unix.Read(c.fd, c.rbuf[c.rend:])
	switch {
	case err == unix.EAGAIN, err == unix.EINTR:
		return // level-triggered: reported again if still ready
	case err != nil:
		l.fail(c, l.errText(opRead, err))
		return
	case n == 0:
		l.eof(c)
		return
	}
	c.rend += n
	l.parse(c)
}

// parse feeds c's buffered bytes to its parser, completing as many
// responses as they hold: bytes that arrived early belong to the next
// request's answer, and level-triggered epoll will not report them again.
func (l *epollLoop) parse(c *econn) {
	for {
		k, err := c.p.feed(c.rbuf[c.rstart:c.rend])
		c.rstart += k
		if c.rstart == c.rend {
			c.rstart, c.rend = 0, 0
		}
		if err != nil {
			l.fail(c, err.Error())
			return
		}
		if !c.p.done() {
			return
		}
		if !l.complete(c) {
			l.closeConn(c)
			l.redial(c)
			return
		}
		if !l.next(c) || c.rstart == c.rend {
			return
		}
	}
}

// eof handles the server closing c.
func (l *epollLoop) eof(c *econn) {
	if err := c.p.eof(); err != nil {
		l.fail(c, err.Error())
		return
	}
	l.complete(c) // a body that ran to the connection's end
	l.closeConn(c)
	l.redial(c)
}

// complete delivers c's answered request and reports whether c may carry
// the next one.
func (l *epollLoop) complete(c *econn) bool {
	code := c.p.code
	r := &l.res
	*r = vegeta.Result{
		Seq:       c.seq,
		Code:      uint16(code),
		Timestamp: c.sent,
		Latency:   time.Since(c.sent),
		BytesOut:  l.bodyLen,
		BytesIn:   uint64(c.p.bodyLen),
	}
	if code < 200 || code >= 400 {
		r.Error = statusLine(code)
	}
	c.state = ecClosed
	l.deliver(r, l.intendedOf(c))
	return c.p.reusable() && !l.reqClose && c.wpos == len(l.req)
}

// fail delivers c's request in flight, if any, as failed with text, then
// closes c and queues it for a re-dial.
func (l *epollLoop) fail(c *econn, text string) {
	if c.state == ecBusy {
		r := &l.res
		*r = vegeta.Result{Seq: c.seq, Timestamp: c.sent, Latency: time.Since(c.sent), Error: text}
		c.state = ecClosed
		l.deliver(r, l.intendedOf(c))
	}
	l.closeConn(c)
	l.redial(c)
}

// failDial delivers a failed dial as a failed request, as vegeta does,
// then queues c for another attempt. In the open model the failed request
// is c's next slot.
func (l *epollLoop) failDial(c *econn, text string) {
	r := &l.res
	*r = vegeta.Result{Seq: l.seq, Timestamp: c.dialStart, Latency: time.Since(c.dialStart), Error: text}
	var intended time.Time
	if l.sched != nil {
		r.Seq, intended = c.cs.slot, l.origin.Add(c.cs.due)
		c.cs.advance()
	} else {
		l.seq++
	}
	l.closeConn(c)
	l.deliver(r, intended)
	l.redial(c)
}

// expire fails the requests and dials that have outlived the timeout.
func (l *epollLoop) expire(now time.Time) {
	for i := range l.conns {
		c := &l.conns[i]
		switch c.state {
		case ecBusy:
			if now.Sub(c.sent) >= l.timeout {
				l.fail(c, errTimeout)
			}
		case ecDialing:
			if now.Sub(c.dialStart) >= l.timeout {
				l.failDial(c, l.errText(opDial, unix.ETIMEDOUT))
			}
		}
	}
}

// closeConn closes c's socket, which also removes it from epoll.
func (l *epollLoop) closeConn(c *econn) {
	if c.fd >= 0 {
		_ = unix.Close(c.fd)
		c.fd = -1
		l.open--
	}
	c.state = ecClosed
	c.out = false
	c.rstart, c.rend = 0, 0
}

// redial queues c, closed, for a dial at the next turn of the loop, unless
// the run is over. In the open model c is dialled when its next request
// is due instead (at once if that is past).
func (l *epollLoop) redial(c *econn) {
	switch {
	case l.stopping:
	case l.sched != nil:
		if !c.queued { // a queued connection is dialled when due
			l.release(c, time.Now())
		}
	default:
		l.redials = append(l.redials, c.idx)
	}
}

// errText words err as net/http does ("dial tcp ADDR: connect: connection
// refused", "read tcp ADDR: connection reset by peer"), so that
// ClassifyError gives the same kinds as for the other engines. Texts are
// cached per operation and errno.
func (l *epollLoop) errText(op errOp, err error) string {
	var errno unix.Errno
	if !errors.As(err, &errno) {
		return l.opPrefix(op) + err.Error()
	}
	k := errKey{op, errno}
	if s, ok := l.errTexts[k]; ok {
		return s
	}
	msg := errno.Error()
	if errno == unix.ETIMEDOUT {
		msg = "i/o timeout" // net's wording, which ClassifyError reads as a timeout
	}
	s := l.opPrefix(op) + msg
	l.errTexts[k] = s
	return s
}

func (l *epollLoop) opPrefix(op errOp) string {
	switch op {
	case opDial:
		return "dial tcp " + l.addr + ": connect: "
	case opRead:
		return "read tcp " + l.addr + ": "
	}
	return "write tcp " + l.addr + ": "
}
