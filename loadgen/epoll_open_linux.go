package loadgen

// The open model on epollLoop, wrk2's way: a fixed set of connections,
// each sending on its own schedule (OpenSchedule), at most one request in
// flight per connection. A connection still busy when its next request is
// due sends it the moment the answer arrives, late; the lag counts in the
// request's corrected latency (from its intended send time), never
// dropped and never hidden by opening another connection. So the
// generator's load on the target is bounded by the settings, and under
// overload the achieved rate is what the target serves on those
// connections, not the collapse of a generator adding workers.

import (
	"errors"
	"runtime"
	"time"
	"unsafe"

	vegeta "github.com/tsenart/vegeta/v12/lib"
	"golang.org/x/sys/unix"
)

// startEpollOpen is startEpoll for the open model: sched.Conns connections
// to addr, each sending req on its share of sched from origin until
// origin+d. deliver receives each result with its intended send time.
// Unsent is valid once Done is closed.
func startEpollOpen(addr string, req []byte, bodyLen int, sched OpenSchedule, origin time.Time, d, timeout time.Duration, deliver func(*vegeta.Result, time.Time)) (*epollLoop, error) {
	if err := sched.Validate(); err != nil {
		return nil, err
	}
	l, err := newEpoll(addr, req, bodyLen, sched.Conns, origin.Add(d), timeout, deliver)
	if err != nil {
		return nil, err
	}
	l.sched, l.origin, l.endDue = &sched, origin, d
	l.idle = make([]int32, 0, sched.Conns)
	for i := range l.conns {
		l.conns[i].cs = newConnSchedule(l.sched, i)
	}
	go l.run()
	return l, nil
}

// Unsent is the number of requests the schedule had due before the run
// ended (or was stopped) that were never sent: the backlog of a generator
// that fell behind. Read it after Done is closed.
func (l *epollLoop) Unsent() uint64 { return l.unsent }

// intendedOf is the intended send time of c's request in flight; zero in
// the closed model.
func (l *epollLoop) intendedOf(c *econn) time.Time {
	if l.sched == nil {
		return time.Time{}
	}
	return l.origin.Add(c.intended)
}

// next puts c, whose request was just answered, to work again, and
// reports whether c has a request in flight.
func (l *epollLoop) next(c *econn) bool {
	if l.sched == nil {
		return l.startRequest(c)
	}
	return l.release(c, time.Now())
}

// release makes c, free (connected or not), take its next slot: it is sent
// at once when due (dialled first if c has no socket), else c waits in
// the idle heap. A connection with no slot left before the end is closed.
// It reports whether c has a request in flight.
func (l *epollLoop) release(c *econn, now time.Time) bool {
	switch {
	case l.stopping:
		l.closeConn(c)
		return false
	case c.cs.due >= l.endDue:
		l.closeConn(c)
		return false
	case c.cs.due > now.Sub(l.origin):
		l.push(c)
		return false
	case c.fd < 0:
		l.redials = append(l.redials, c.idx) // dialled at the next turn
		return false
	}
	return l.startRequest(c)
}

// sendDue starts the requests now due on idle connections.
func (l *epollLoop) sendDue(now time.Time) {
	at := now.Sub(l.origin)
	for len(l.idle) > 0 && !l.stopping {
		c := &l.conns[l.idle[0]]
		if c.cs.due > at {
			return
		}
		l.pop()
		if c.fd < 0 {
			l.dial(c, now)
		} else {
			l.startRequest(c)
		}
	}
}

// countUnsent adds up, at the end of the run, the slots due before it that
// no connection sent.
func (l *epollLoop) countUnsent(now time.Time) {
	cut := min(now.Sub(l.origin), l.endDue)
	for i := range l.conns {
		l.unsent += l.conns[i].cs.countBefore(cut)
	}
}

// waitOpen sends what is due, then waits for readiness until the next
// request is due, with nanosecond resolution where the kernel has
// epoll_pwait2 (Linux 5.11); otherwise in whole milliseconds, rounded up
// (a send that late is measured, in the lag and the corrected latency).
func (l *epollLoop) waitOpen(now time.Time) (int, error) {
	if !l.stopping && len(l.idle) > 0 {
		l.sendDue(now)
		now = time.Now() // sending took time: the next wait is from here
	}
	wait := time.Duration(0)
	if len(l.redials) == 0 {
		wait = epollMaxWait
		if !l.stopping {
			wait = min(wait, l.end.Sub(now))
			if len(l.idle) > 0 {
				wait = min(wait, l.conns[l.idle[0]].cs.due-now.Sub(l.origin))
			}
		}
		wait = max(wait, 0)
	}
	raw := wait < rawWaitMax
	if raw && now.Sub(l.yielded) >= yieldEvery {
		// Let the goroutines waiting for this P run (see rawWaitMax).
		runtime.Gosched()
		l.yielded = now
	}
	if !l.noPwait {
		n, err := epollPwait2(l.epfd, l.events, wait, raw)
		if !errors.Is(err, unix.ENOSYS) {
			return n, err
		}
		l.noPwait = true
	}
	return unix.EpollWait(l.epfd, l.events, int((wait+time.Millisecond-1)/time.Millisecond))
}

// rawWaitMax is the longest wait made as a raw system call.
//
// A goroutine that enters a blocking system call the ordinary way hands
// its P to the runtime; when the call lasts more than sysmon's 20µs tick,
// sysmon retakes the P and keeps waking every 20µs while calls go on. The
// open model waits tens of microseconds between sends all the time, and
// with ordinary calls the process made 1.6 context switches per request
// and spent 53µs of CPU per request at 10,000 req/s against embedded
// /plaintext, where the closed model spends ~18µs. A raw call keeps the
// P, which is what a thread locked to its goroutine wants anyway; only
// other goroutines (the meter's timers, the garbage collector, a target
// in the same process in tests) wait until this one yields, which a run
// of raw waits does every yieldEvery, or is preempted by signal (which
// ends the wait with EINTR); so raw waits are kept short.
const rawWaitMax = time.Millisecond

// yieldEvery is how often a run of raw waits yields the P.
const yieldEvery = time.Millisecond

// epollPwait2 is epoll_wait with a nanosecond timeout, made as a raw
// system call when raw; it allocates nothing.
func epollPwait2(epfd int, events []unix.EpollEvent, timeout time.Duration, raw bool) (int, error) {
	ts := unix.NsecToTimespec(int64(timeout))
	// Direct calls, so that the compiler keeps ts where the kernel reads
	// it (the uintptr(unsafe.Pointer) rule holds only in a call's
	// argument list).
	var n uintptr
	var errno unix.Errno
	if raw {
		n, _, errno = unix.RawSyscall6(unix.SYS_EPOLL_PWAIT2, uintptr(epfd), uintptr(unsafe.Pointer(unsafe.SliceData(events))),
			uintptr(len(events)), uintptr(unsafe.Pointer(&ts)), 0, 0)
	} else {
		n, _, errno = unix.Syscall6(unix.SYS_EPOLL_PWAIT2, uintptr(epfd), uintptr(unsafe.Pointer(unsafe.SliceData(events))),
			uintptr(len(events)), uintptr(unsafe.Pointer(&ts)), 0, 0)
	}
	if errno != 0 {
		return 0, errno
	}
	return int(n), nil
}

// The idle heap: connections waiting for their next slot, earliest due
// first. A connection is in it at most once (econn.queued).

func (l *epollLoop) before(i, j int) bool {
	return l.conns[l.idle[i]].cs.due < l.conns[l.idle[j]].cs.due
}

func (l *epollLoop) push(c *econn) {
	c.queued = true
	l.idle = append(l.idle, c.idx)
	for i := len(l.idle) - 1; i > 0; {
		p := (i - 1) / 2
		if !l.before(i, p) {
			break
		}
		l.idle[i], l.idle[p] = l.idle[p], l.idle[i]
		i = p
	}
}

func (l *epollLoop) pop() {
	l.conns[l.idle[0]].queued = false
	last := len(l.idle) - 1
	l.idle[0] = l.idle[last]
	l.idle = l.idle[:last]
	for i := 0; ; {
		m, a, b := i, 2*i+1, 2*i+2
		if a < last && l.before(a, m) {
			m = a
		}
		if b < last && l.before(b, m) {
			m = b
		}
		if m == i {
			return
		}
		l.idle[i], l.idle[m] = l.idle[m], l.idle[i]
		i = m
	}
}
