package procstat

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"sync"
	"testing"

	"forkbench/internal/testbin"
)

// spawnN is how many "threaded" children the "spawner" helper starts in
// the measured window, besides the grandchild its "nest" child starts.
const spawnN = 4

// threadsPerChild is how many goroutines a "threaded" child locks to OS
// threads of their own at once.
const threadsPerChild = 2

// forkChild runs the helper modes of the fork counter's tests. ok is false
// for a mode it does not know.
func forkChild(mode string) (code int, ok bool) {
	switch mode {
	case "threaded": // hold threadsPerChild locked OS threads at once, then exit
		var locked, all sync.WaitGroup
		release := make(chan struct{})
		locked.Add(threadsPerChild)
		all.Add(threadsPerChild)
		for range threadsPerChild {
			go func() {
				defer all.Done()
				runtime.LockOSThread() // never unlocked: the thread exits with the goroutine
				locked.Done()
				<-release
			}()
		}
		locked.Wait()
		close(release)
		all.Wait()
		return 0, true
	case "nest": // exec once, say ready; on a line from stdin, run a threaded child
		// os/exec probes for CLONE_PIDFD with a throw-away child on its
		// first use in a process: do that before the window.
		if err := helper("exit").Run(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1, true
		}
		fmt.Println("ready")
		if _, err := bufio.NewReader(os.Stdin).ReadString('\n'); err != nil {
			return 1, true
		}
		if err := helper("threaded").Run(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1, true
		}
		return 0, true
	case "spawner": // start a nest child, say ready; on "go", spawn and say done
		return spawner(), true
	case "fan": // run two exit children, outside any tree under test
		for range 2 {
			if err := helper("exit").Run(); err != nil {
				return 1, true
			}
		}
		return 0, true
	}
	return 0, false
}

// spawner is the root of the tree TestForkCounterTree counts. Its child
// "nest" exists before the window (the counter finds it in /proc) and
// forks a grandchild inside it; spawner itself forks spawnN children.
func spawner() int {
	nest := helper("nest")
	nest.Stderr = os.Stderr
	nestIn, err := nest.StdinPipe()
	if err != nil {
		return 1
	}
	nestOut, err := nest.StdoutPipe()
	if err != nil {
		return 1
	}
	if err := nest.Start(); err != nil { // also warms os/exec's probe here
		return 1
	}
	if line, err := bufio.NewReader(nestOut).ReadString('\n'); err != nil || line != "ready\n" {
		return 1
	}
	fmt.Println("ready")
	in := bufio.NewReader(os.Stdin)
	if line, err := in.ReadString('\n'); err != nil || line != "go\n" {
		return 1
	}
	if _, err := io.WriteString(nestIn, "go\n"); err != nil {
		return 1
	}
	cmds := make([]*exec.Cmd, spawnN)
	for i := range cmds {
		cmds[i] = helper("threaded")
		cmds[i].Stderr = os.Stderr
		if err := cmds[i].Start(); err != nil {
			return 1
		}
	}
	code := 0
	for _, c := range append(cmds, nest) {
		if err := c.Wait(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			code = 1
		}
	}
	fmt.Println("done")
	_, _ = io.Copy(io.Discard, in)
	return code
}

func TestForkCounterTree(t *testing.T) {
	sp := testbin.StartChild(t, "spawner", helper("spawner"), nil)
	sp.CloseAtCleanup(t)
	sp.Expect(t, "ready")

	c := StartForkCounter(context.Background(), []int{sp.Cmd.Process.Pid})
	// A sibling of the spawner, with children of its own: outside the tree.
	if err := helper("fan").Run(); err != nil {
		t.Fatal(err)
	}
	sp.Send(t, "go")
	sp.Expect(t, "done")
	fc, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if fc.Source != ForkSourceConnector {
		t.Skipf("process events connector unavailable (it needs the initial user and pid namespaces, and CAP_NET_ADMIN before Linux 6.6): %v", fc.Unavailable)
	}
	want := uint64(spawnN + 1) // the spawner's children and the nest's one
	if !fc.Complete() {
		// Events were dropped on a busy machine: the count can only be
		// low, never high.
		t.Logf("events lost: %+v", fc)
		if fc.Processes > want {
			t.Errorf("Processes = %d; want at most %d", fc.Processes, want)
		}
		return
	}
	if fc.Processes != want {
		t.Errorf("Processes = %d; want %d (not the sibling's 3)", fc.Processes, want)
	}
	if min := want * threadsPerChild; fc.Threads < min {
		t.Errorf("Threads = %d; want >= %d", fc.Threads, min)
	}
	if fc2, err2 := c.Stop(); fc2 != fc || err2 != nil {
		t.Errorf("second Stop = %+v, %v; want %+v, nil", fc2, err2, fc)
	}
}

// TestForkCounterCancelled checks that a cancelled context stops reading
// but not counting: events queued before Stop are still drained.
func TestForkCounterCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	c := StartForkCounter(ctx, []int{os.Getpid()})
	cancel()
	if c.done != nil {
		<-c.done // the reader has returned
	}
	if err := helper("exit").Run(); err != nil {
		t.Fatal(err)
	}
	fc, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if fc.Source != ForkSourceConnector {
		t.Skipf("process events connector unavailable: %v", fc.Unavailable)
	}
	if fc.Processes < 1 {
		t.Errorf("Processes = %d; want >= 1 (the child started after cancel, before Stop)", fc.Processes)
	}
}

func TestForkCounterFallback(t *testing.T) {
	refuse := func() (*os.File, error) {
		return nil, fmt.Errorf("%w: refused by the test", ErrConnectorUnavailable)
	}
	c := startForkCounter(context.Background(), []int{os.Getpid()}, refuse)
	if err := helper("exit").Run(); err != nil {
		t.Fatal(err)
	}
	fc, err := c.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if fc.Source != ForkSourceSystemWide || !errors.Is(fc.Unavailable, ErrConnectorUnavailable) {
		t.Errorf("Source, Unavailable = %q, %v; want %q, ErrConnectorUnavailable", fc.Source, fc.Unavailable, ForkSourceSystemWide)
	}
	if fc.Processes < 1 || fc.Threads != 0 {
		t.Errorf("Processes, Threads = %d, %d; want >= 1, 0", fc.Processes, fc.Threads)
	}
}

// procMsg builds one netlink message carrying a process event.
func procMsg(what, cpu, seq, ack uint32, data ...uint32) []byte {
	ne := binary.NativeEndian
	ev := make([]byte, procEventHdrLen+4*len(data))
	ne.PutUint32(ev[0:], what)
	ne.PutUint32(ev[4:], cpu)
	for i, d := range data {
		ne.PutUint32(ev[procEventHdrLen+4*i:], d)
	}
	return connMsg(cnIdxProc, seq, ack, ev)
}

func connMsg(idx, seq, ack uint32, data []byte) []byte {
	ne := binary.NativeEndian
	n := nlmsgHdrLen + cnMsgLen + len(data)
	b := make([]byte, align4(n))
	ne.PutUint32(b[0:], uint32(n))
	ne.PutUint16(b[4:], nlmsgDone)
	c := b[nlmsgHdrLen:]
	ne.PutUint32(c[0:], idx)
	ne.PutUint32(c[4:], cnValProc)
	ne.PutUint32(c[8:], seq)
	ne.PutUint32(c[12:], ack)
	ne.PutUint16(c[16:], uint16(len(data)))
	copy(c[cnMsgLen:], data)
	return b
}

func TestParseMessages(t *testing.T) {
	fork := procMsg(procEventFork, 1, 7, 0, 10, 10, 11, 11)
	thread := procMsg(procEventFork, 0, 8, 0, 1, 1, 12, 11)
	exit := procMsg(procEventExit, 1, 9, 0, 11, 11, 0, 17, 10, 10)
	ack := procMsg(procEventNone, ackCPU, 5, 6, 1)
	noop := make([]byte, nlmsgHdrLen)
	binary.NativeEndian.PutUint32(noop, nlmsgHdrLen)
	binary.NativeEndian.PutUint16(noop[4:], nlmsgNoop)
	tests := []struct {
		name    string
		in      []byte
		want    []event
		wantErr bool
	}{
		{name: "fork", in: fork, want: []event{{what: procEventFork, cpu: 1, seq: 7, parentTgid: 10, pid: 11, tgid: 11}}},
		{name: "thread", in: thread, want: []event{{what: procEventFork, cpu: 0, seq: 8, parentTgid: 1, pid: 12, tgid: 11}}},
		{name: "exit", in: exit, want: []event{{what: procEventExit, cpu: 1, seq: 9, pid: 11, tgid: 11}}},
		{name: "ack with errno", in: ack, want: []event{{what: procEventNone, cpu: ackCPU, seq: 5, ack: 6, ackErr: 1}}},
		{name: "other event type", in: procMsg(2, 0, 1, 0, 5, 5), want: []event{{what: 2, seq: 1}}},
		{name: "two in one datagram, noop skipped", in: slices.Concat(fork, noop, thread), want: []event{
			{what: procEventFork, cpu: 1, seq: 7, parentTgid: 10, pid: 11, tgid: 11},
			{what: procEventFork, cpu: 0, seq: 8, parentTgid: 1, pid: 12, tgid: 11},
		}},
		{name: "other connector skipped", in: connMsg(2, 1, 0, make([]byte, 40)), want: nil},
		{name: "empty", in: nil, want: nil},
		{name: "short header", in: fork[:10], wantErr: true},
		{name: "length past end", in: fork[:len(fork)-4], wantErr: true},
		{name: "length below header", in: func() []byte {
			b := append([]byte(nil), fork...)
			binary.NativeEndian.PutUint32(b, 4)
			return b
		}(), wantErr: true},
		{name: "connector data past end", in: func() []byte {
			b := append([]byte(nil), fork...)
			binary.NativeEndian.PutUint16(b[nlmsgHdrLen+16:], 200)
			return b
		}(), wantErr: true},
		{name: "fork data short", in: procMsg(procEventFork, 0, 1, 0, 1, 1, 2), wantErr: true},
		{name: "event header short", in: connMsg(cnIdxProc, 1, 0, make([]byte, 8)), wantErr: true},
		{name: "overrun", in: func() []byte {
			b := append([]byte(nil), noop...)
			binary.NativeEndian.PutUint16(b[4:], nlmsgOverrun)
			return b
		}(), wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []event
			err := parseMessages(tt.in, func(ev event) { got = append(got, ev) })
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseMessages error = %v; want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("parseMessages = %+v; want %+v", got, tt.want)
			}
		})
	}
}

func TestMcastMessageParses(t *testing.T) {
	// The request we send is itself a connector message whose data is the
	// op; parsing it as an event header must fail, which shows its
	// framing: 4 bytes of data after a well-formed cn_msg.
	b := mcastMessage(procCnMcastListen, 3, 4)
	if len(b) != 40 || binary.NativeEndian.Uint32(b) != 40 {
		t.Fatalf("mcastMessage length = %d; want 40", len(b))
	}
	if op := binary.NativeEndian.Uint32(b[nlmsgHdrLen+cnMsgLen:]); op != procCnMcastListen {
		t.Errorf("op = %d; want %d", op, procCnMcastListen)
	}
	if err := parseMessages(b, func(event) {}); err == nil {
		t.Error("parseMessages(request) = nil; want a short-event error")
	}
}

func TestTracker(t *testing.T) {
	fork := func(cpu, seq uint32, parentTgid, pid, tgid int32) event {
		return event{what: procEventFork, cpu: cpu, seq: seq, parentTgid: parentTgid, pid: pid, tgid: tgid}
	}
	exit := func(cpu, seq uint32, pid, tgid int32) event {
		return event{what: procEventExit, cpu: cpu, seq: seq, pid: pid, tgid: tgid}
	}
	tests := []struct {
		name                 string
		seed                 []int
		events               []event
		procs, threads, lost uint64
	}{
		{name: "child and grandchild", seed: []int{100}, events: []event{
			fork(0, 1, 100, 200, 200), fork(0, 2, 200, 300, 300),
		}, procs: 2},
		{name: "outside the tree", seed: []int{100}, events: []event{
			fork(0, 1, 1, 200, 200), fork(0, 2, 200, 300, 300),
		}},
		{name: "threads follow their own tgid", seed: []int{100}, events: []event{
			fork(0, 1, 1, 101, 100),   // a thread of the root: its parent is the root's parent
			fork(0, 2, 100, 102, 999), // a thread of another process
		}, threads: 1},
		{name: "exited pid reused outside", seed: []int{100}, events: []event{
			fork(0, 1, 100, 200, 200), exit(0, 2, 200, 200),
			fork(0, 3, 200, 300, 300), // 200 is now someone else's
		}, procs: 1},
		{name: "thread exit keeps the process", seed: []int{100}, events: []event{
			exit(0, 1, 101, 100), fork(0, 2, 100, 200, 200),
		}, procs: 1},
		{name: "per-CPU gaps are lost events", seed: []int{100}, events: []event{
			fork(0, 10, 100, 200, 200), fork(1, 50, 1, 2, 2),
			fork(0, 13, 100, 201, 201), fork(1, 51, 1, 3, 3),
		}, procs: 2, lost: 2},
		{name: "sequence wraps", events: []event{
			fork(0, 0xffffffff, 1, 2, 2), fork(0, 0, 1, 3, 3),
		}},
		{name: "acks: numbered on new kernels, outside on old", events: []event{
			fork(0, 1, 1, 2, 2), {what: procEventNone, cpu: 0, seq: 2},
			{what: procEventNone, cpu: ackCPU, seq: 77}, fork(0, 3, 1, 3, 3),
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker(tt.seed)
			for _, ev := range tt.events {
				tr.apply(ev)
			}
			if tr.procs != tt.procs || tr.threads != tt.threads || tr.lost != tt.lost {
				t.Errorf("procs, threads, lost = %d, %d, %d; want %d, %d, %d", tr.procs, tr.threads, tr.lost, tt.procs, tt.threads, tt.lost)
			}
		})
	}
}

func FuzzParseMessages(f *testing.F) {
	f.Add(procMsg(procEventFork, 1, 7, 0, 10, 10, 11, 11))
	f.Add(procMsg(procEventExit, 1, 9, 0, 11, 11, 0, 17, 10, 10))
	f.Add(procMsg(procEventNone, ackCPU, 5, 6, 1))
	f.Add(mcastMessage(procCnMcastListen, 1, 2))
	f.Fuzz(func(t *testing.T, b []byte) {
		tr := newTracker([]int{1})
		_ = parseMessages(b, tr.apply)
	})
}
