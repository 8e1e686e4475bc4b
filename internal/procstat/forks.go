package procstat

// This file counts the processes a tree creates, from the kernel's process
// events connector (linux/cn_proc.h); the wire layouts are in events.go.

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"
)

// ForkSource says how a ForkCount was obtained, so a result can be labelled
// with it: the two sources count different things.
type ForkSource string

const (
	// ForkSourceConnector counts the processes created in the tree, from
	// the kernel's process events connector.
	ForkSourceConnector ForkSource = "proc-connector"
	// ForkSourceSystemWide is the delta of /proc/stat's "processes" line:
	// every process and thread created on the machine (see SystemForks).
	ForkSourceSystemWide ForkSource = "system-wide-clones"
)

// ErrConnectorUnavailable is wrapped by ForkCount.Unavailable when the
// process events connector cannot be used: it needs a kernel built with
// CONFIG_PROC_EVENTS, the initial user and pid namespaces, and before
// Linux 6.6 CAP_NET_ADMIN.
var ErrConnectorUnavailable = errors.New("procstat: process events connector unavailable")

// Bounds of the connector socket, named so that they can be reasoned about.
const (
	// ForkRcvBuf is the socket receive buffer asked for. The socket sees
	// every fork, exec and exit on the machine; at a few hundred bytes of
	// kernel memory per event this holds several thousand events between
	// two reads, which a fork storm can still exceed: the kernel then
	// drops events and the loss is reported (ForkCount.Lost, Overruns).
	ForkRcvBuf = 4 << 20
	// forkReadBuf holds one datagram; a process event is under 100 bytes.
	forkReadBuf = 4096
	// forkAckTimeout bounds the wait for the kernel's reply to the
	// subscription. The reply is sent synchronously while our send is
	// processed, so it is normally already queued; none comes at all
	// outside the initial namespaces.
	forkAckTimeout = time.Second
)

// ForkCount is what a ForkCounter counted between its start and Stop.
type ForkCount struct {
	// Source is how the figures were obtained.
	Source ForkSource
	// Processes is, with ForkSourceConnector, the number of processes
	// created whose parent was in the tree; with ForkSourceSystemWide,
	// every process and thread created on the machine.
	Processes uint64
	// Threads is the number of threads created in the tree's processes
	// (ForkSourceConnector only; 0 otherwise).
	Threads uint64
	// Lost is the number of process events (of any process on the
	// machine) the kernel generated but this counter never received,
	// found from gaps in the kernel's per-CPU event sequence numbers.
	Lost uint64
	// Overruns is the number of times the socket reported that its
	// buffer overflowed (ENOBUFS). When Lost or Overruns is non-zero,
	// Processes and Threads are lower bounds.
	Overruns uint64
	// Unavailable says why the connector was not used; nil with
	// ForkSourceConnector. It wraps ErrConnectorUnavailable.
	Unavailable error
}

// Complete reports whether no event may have been missed.
func (c ForkCount) Complete() bool { return c.Lost == 0 && c.Overruns == 0 }

// ForkCounter counts the processes (and threads) created in one or more
// process trees while it runs. A tree is its root and every process whose
// parent joined the tree, followed from the kernel's fork events as they
// arrive, so a child that lives for a millisecond is counted as surely as a
// daemon. Without the connector it falls back to the system-wide delta of
// /proc/stat, and says so in ForkCount.Source.
//
// Limits: a process created with CLONE_PARENT (a sibling of its creator)
// is not followed; a tree's process whose thread-group leader exits before
// its other threads leaves the tree early.
type ForkCounter struct {
	// Fallback: /proc/stat at the start.
	sys    uint64
	sysErr error

	// Connector: nil in fallback.
	f         *os.File
	tr        *tracker
	done      chan struct{}
	stopWatch func() bool
	readErr   error // set by the reader before done is closed

	unavailable error

	once  sync.Once
	count ForkCount
	err   error
}

// StartForkCounter starts counting the processes created from now on in
// the trees of roots (each root and its descendants, living ones found
// from /proc at once, later ones as they are forked). Reading stops when
// ctx is done; Stop must be called to get the count and release the
// socket. It never fails: when the connector cannot be used it counts
// system-wide, and an error from that is returned by Stop.
func StartForkCounter(ctx context.Context, roots []int) *ForkCounter {
	return startForkCounter(ctx, roots, subscribe)
}

// startForkCounter is StartForkCounter with the subscription injected, so
// tests can exercise the fallback.
func startForkCounter(ctx context.Context, roots []int, open func() (*os.File, error)) *ForkCounter {
	c := &ForkCounter{}
	f, err := open()
	if err != nil {
		c.unavailable = err
		c.sys, c.sysErr = SystemForks()
		return c
	}
	c.f = f
	c.tr = newTracker(seedTree(roots))
	c.done = make(chan struct{})
	c.stopWatch = context.AfterFunc(ctx, c.interrupt)
	go c.read()
	return c
}

// seedTree returns the roots that are alive and their live descendants
// (all roots if /proc cannot be read).
func seedTree(roots []int) []int {
	all, err := scanAll()
	if err != nil {
		return roots // followed from their forks on, at least
	}
	children := make(map[int][]int, len(all))
	for pid, st := range all {
		children[st.ppid] = append(children[st.ppid], pid)
	}
	seen := make(map[int]bool)
	var queue []int
	for _, r := range roots {
		if _, ok := all[r]; ok && !seen[r] {
			seen[r] = true
			queue = append(queue, r)
		}
	}
	for i := 0; i < len(queue); i++ {
		for _, ch := range children[queue[i]] {
			if !seen[ch] {
				seen[ch] = true
				queue = append(queue, ch)
			}
		}
	}
	return queue
}

// interrupt wakes the reader, which then returns.
func (c *ForkCounter) interrupt() { _ = c.f.SetReadDeadline(time.Unix(1, 0)) }

// read consumes events until interrupted. It owns c.tr until done is
// closed.
func (c *ForkCounter) read() {
	defer close(c.done)
	rc, err := c.f.SyscallConn()
	if err != nil {
		c.readErr = fmt.Errorf("procstat: fork events: %w", err)
		return
	}
	buf := make([]byte, forkReadBuf)
	for {
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			rerr = c.recv(int(fd), buf)
			return rerr != unix.EAGAIN
		})
		if err != nil { // interrupted (deadline) or closed
			return
		}
		if rerr != nil {
			c.readErr = rerr
			return
		}
	}
}

// recv reads and applies one datagram; it returns unix.EAGAIN when none is
// queued.
func (c *ForkCounter) recv(fd int, buf []byte) error {
	n, from, err := unix.Recvfrom(fd, buf, 0)
	switch {
	case err == unix.ENOBUFS:
		c.tr.overruns++
		return nil
	case err == unix.EINTR:
		return nil
	case err != nil:
		if err == unix.EAGAIN {
			return err
		}
		return fmt.Errorf("procstat: fork events: recv: %w", err)
	}
	if sa, ok := from.(*unix.SockaddrNetlink); !ok || sa.Pid != 0 {
		return nil // not from the kernel
	}
	return parseMessages(buf[:n], c.tr.apply)
}

// drain applies what is still queued, without waiting.
func (c *ForkCounter) drain() error {
	rc, err := c.f.SyscallConn()
	if err != nil {
		return fmt.Errorf("procstat: fork events: %w", err)
	}
	buf := make([]byte, forkReadBuf)
	var rerr error
	err = rc.Control(func(fd uintptr) {
		for rerr == nil {
			rerr = c.recv(int(fd), buf)
		}
	})
	if err != nil {
		return fmt.Errorf("procstat: fork events: %w", err)
	}
	if rerr != unix.EAGAIN {
		return rerr
	}
	return nil
}

// Stop ends counting and returns what was counted since the start: every
// event the kernel queued before Stop was called is included. err is set
// when the figures could not be obtained (or, for the connector, when
// reading failed part-way; the count is then a lower bound). Stop may be
// called more than once.
func (c *ForkCounter) Stop() (ForkCount, error) {
	c.once.Do(func() { c.count, c.err = c.stop() })
	return c.count, c.err
}

func (c *ForkCounter) stop() (ForkCount, error) {
	if c.f == nil {
		fc := ForkCount{Source: ForkSourceSystemWide, Unavailable: c.unavailable}
		if c.sysErr != nil {
			return fc, c.sysErr
		}
		end, err := SystemForks()
		if err != nil {
			return fc, err
		}
		if end < c.sys {
			return fc, fmt.Errorf("procstat: /proc/stat processes went back from %d to %d", c.sys, end)
		}
		fc.Processes = end - c.sys
		return fc, nil
	}
	c.stopWatch()
	c.interrupt()
	<-c.done
	err := c.readErr
	if err == nil {
		err = c.drain()
	}
	_ = send(c.f, procCnMcastIgnore, 0, 0) // closing the socket also unsubscribes
	if cerr := c.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("procstat: fork events: %w", cerr)
	}
	t := c.tr
	return ForkCount{
		Source:    ForkSourceConnector,
		Processes: t.procs,
		Threads:   t.threads,
		Lost:      t.lost,
		Overruns:  t.overruns,
	}, err
}

// subscribe opens a process events socket and subscribes it, returning
// once the kernel has acknowledged. Errors wrap ErrConnectorUnavailable.
func subscribe() (f *os.File, err error) {
	// Outside the initial namespaces the kernel ignores the request
	// without a reply; say so at once rather than after forkAckTimeout.
	if err := initialNamespaces(); err != nil {
		return nil, err
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_DGRAM|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, unix.NETLINK_CONNECTOR)
	if err != nil {
		return nil, fmt.Errorf("%w: socket: %w", ErrConnectorUnavailable, err)
	}
	f = os.NewFile(uintptr(fd), "proc-connector")
	defer func() {
		if err != nil {
			_ = f.Close()
		}
	}()
	// SO_RCVBUFFORCE passes net.core.rmem_max with CAP_NET_ADMIN, which
	// subscribing needs anyway; SO_RCVBUF is the best effort otherwise.
	if unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, ForkRcvBuf) != nil {
		_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, ForkRcvBuf)
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: cnIdxProc}); err != nil {
		return nil, fmt.Errorf("%w: bind: %w", ErrConnectorUnavailable, err)
	}
	seq, ack := rand.Uint32(), rand.Uint32()
	if err := send(f, procCnMcastListen, seq, ack); err != nil {
		return nil, fmt.Errorf("%w: subscribe: %w", ErrConnectorUnavailable, err)
	}
	if err := awaitAck(f, ack); err != nil {
		return nil, err
	}
	return f, nil
}

// The inode numbers of the initial user and pid namespaces, fixed by the
// kernel (PROC_USER_INIT_INO, PROC_PID_INIT_INO in linux/proc_ns.h).
const (
	userInitIno = 0xEFFFFFFD
	pidInitIno  = 0xEFFFFFFC
)

// initialNamespaces checks that this process is in the initial user and
// pid namespaces, where the process events connector reports (its pids
// are the initial namespace's). A check that cannot be made passes: the
// kernel's reply, or its absence, then decides.
func initialNamespaces() error {
	for _, ns := range []struct {
		name string
		ino  uint64
	}{{"user", userInitIno}, {"pid", pidInitIno}} {
		var st unix.Stat_t
		if unix.Stat("/proc/self/ns/"+ns.name, &st) != nil {
			continue
		}
		if st.Ino != ns.ino {
			return fmt.Errorf("%w: not in the initial %s namespace", ErrConnectorUnavailable, ns.name)
		}
	}
	return nil
}

// send sends a PROC_CN_MCAST_LISTEN or _IGNORE request to the kernel.
func send(f *os.File, op, seq, ack uint32) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	msg := mcastMessage(op, seq, ack)
	var serr error
	err = rc.Write(func(fd uintptr) bool {
		serr = unix.Sendto(int(fd), msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
		return serr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return serr
}

// awaitAck reads until the kernel's reply to our subscription, dropping
// the events that precede it (they precede the count too).
func awaitAck(f *os.File, ack uint32) error {
	if err := f.SetReadDeadline(time.Now().Add(forkAckTimeout)); err != nil {
		return fmt.Errorf("%w: %w", ErrConnectorUnavailable, err)
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrConnectorUnavailable, err)
	}
	buf := make([]byte, forkReadBuf)
	var (
		acked  bool
		ackErr uint32
	)
	// The reply echoes ack+1. Its seq is ours on older kernels; since
	// Linux 6.x it is overwritten with the per-CPU event number.
	onEvent := func(ev event) {
		if ev.what == procEventNone && ev.ack == ack+1 {
			acked, ackErr = true, ev.ackErr
		}
	}
	for !acked {
		var rerr error
		err := rc.Read(func(fd uintptr) bool {
			n, _, err := unix.Recvfrom(int(fd), buf, 0)
			if err == unix.EAGAIN {
				return false
			}
			if err == nil {
				rerr = parseMessages(buf[:n], onEvent)
			} else if err != unix.ENOBUFS && err != unix.EINTR {
				rerr = err
			}
			return true
		})
		if errors.Is(err, os.ErrDeadlineExceeded) {
			return fmt.Errorf("%w: no reply from the kernel in %v (not in the initial user and pid namespaces?)", ErrConnectorUnavailable, forkAckTimeout)
		}
		if err == nil {
			err = rerr
		}
		if err != nil {
			return fmt.Errorf("%w: %w", ErrConnectorUnavailable, err)
		}
	}
	if ackErr != 0 {
		return fmt.Errorf("%w: subscribe: %w", ErrConnectorUnavailable, unix.Errno(ackErr))
	}
	if err := f.SetReadDeadline(time.Time{}); err != nil {
		return fmt.Errorf("%w: %w", ErrConnectorUnavailable, err)
	}
	return nil
}

// tracker follows the trees' membership and counts, from events in the
// order the kernel queued them.
type tracker struct {
	members map[int32]struct{} // tgids of the trees' live processes
	lastSeq map[uint32]uint32  // per CPU: the last event's sequence number

	procs, threads, lost, overruns uint64
}

func newTracker(seed []int) *tracker {
	t := &tracker{
		members: make(map[int32]struct{}, len(seed)),
		lastSeq: make(map[uint32]uint32),
	}
	for _, pid := range seed {
		t.members[int32(pid)] = struct{}{}
	}
	return t
}

// apply takes one event into account.
//
// A fork event names the new task's parent as the kernel's real_parent:
// for a new process (pid == tgid) that is the process that forked it, so
// membership follows the parent; for a new thread it is the parent of the
// thread's process, so membership follows the thread's own tgid.
func (t *tracker) apply(ev event) {
	// The kernel numbers the events it sends per CPU, whoever listens; a
	// gap means some never reached this socket. Acknowledgements (to any
	// listener) are numbered with the events on recent kernels; older ones
	// send them with cpu -1 and the request's seq, outside the sequence.
	if ev.cpu != ackCPU {
		if last, ok := t.lastSeq[ev.cpu]; ok {
			if gap := ev.seq - last - 1; gap != 0 && gap < 1<<31 {
				t.lost += uint64(gap)
			}
		}
		t.lastSeq[ev.cpu] = ev.seq
	}
	switch ev.what {
	case procEventFork:
		if ev.pid == ev.tgid {
			if _, ok := t.members[ev.parentTgid]; ok {
				t.procs++
				t.members[ev.tgid] = struct{}{}
			}
		} else if _, ok := t.members[ev.tgid]; ok {
			t.threads++
		}
	case procEventExit:
		// The process is gone once its leader exits; dropping it keeps
		// the set to live processes, so a reused pid does not join.
		if ev.pid == ev.tgid {
			delete(t.members, ev.tgid)
		}
	}
}
