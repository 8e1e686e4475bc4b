package procstat

// This file holds the wire format of the process events connector: netlink
// messages (linux/netlink.h) carrying a struct cn_msg (linux/connector.h)
// carrying a struct proc_event (linux/cn_proc.h), all in host byte order.

import (
	"encoding/binary"
	"fmt"
)

// From linux/connector.h and linux/cn_proc.h; x/sys/unix does not have them.
const (
	cnIdxProc = 0x1 // CN_IDX_PROC: connector index and multicast group
	cnValProc = 0x1 // CN_VAL_PROC

	procCnMcastListen = 1 // PROC_CN_MCAST_LISTEN
	procCnMcastIgnore = 2 // PROC_CN_MCAST_IGNORE

	procEventNone = 0x00000000 // PROC_EVENT_NONE: an acknowledgement
	procEventFork = 0x00000001 // PROC_EVENT_FORK
	procEventExit = 0x80000000 // PROC_EVENT_EXIT

	ackCPU = 0xffffffff // the cpu of an acknowledgement on older kernels
)

// Sizes of the structures, in bytes.
const (
	nlmsgHdrLen = 16 // struct nlmsghdr: len u32, type u16, flags u16, seq u32, pid u32
	cnMsgLen    = 20 // struct cn_msg: id {idx, val u32}, seq u32, ack u32, len u16, flags u16
	// struct proc_event header: what u32, cpu u32, timestamp_ns u64.
	procEventHdrLen = 16
	forkDataLen     = 16 // parent_pid, parent_tgid, child_pid, child_tgid (s32 each)
	exitDataLen     = 8  // process_pid, process_tgid (then exit_code, …)
	ackDataLen      = 4  // err u32
)

// Netlink message types (linux/netlink.h).
const (
	nlmsgNoop    = 0x1
	nlmsgError   = 0x2
	nlmsgDone    = 0x3
	nlmsgOverrun = 0x4
)

// event is one process event, reduced to what the counter uses.
type event struct {
	what uint32
	cpu  uint32 // ackCPU for acknowledgements on older kernels
	seq  uint32 // cn_msg seq: the per-CPU event number (see tracker.apply)
	ack  uint32 // cn_msg ack: the request's ack+1 in an ack

	// Fork: the new task and its real parent. Exit: the exiting task, in
	// pid and tgid.
	pid, tgid  int32
	parentTgid int32
	ackErr     uint32 // PROC_EVENT_NONE: the errno of the request, or 0
}

// parseMessages calls fn for each process event in one datagram read from
// the connector socket, and reports bytes that do not hold together. Other
// connector messages, and netlink no-op and error messages, are skipped.
// An NLMSG_OVERRUN message is an error: the kernel does not send it on
// this socket (overflow shows as ENOBUFS), so it means bytes we misread.
func parseMessages(b []byte, fn func(event)) error {
	ne := binary.NativeEndian
	for len(b) > 0 {
		if len(b) < nlmsgHdrLen {
			return fmt.Errorf("procstat: fork events: %d trailing bytes", len(b))
		}
		n := int(ne.Uint32(b[0:4]))
		typ := ne.Uint16(b[4:6])
		if n < nlmsgHdrLen || n > len(b) {
			return fmt.Errorf("procstat: fork events: netlink message length %d of %d bytes", n, len(b))
		}
		payload := b[nlmsgHdrLen:n]
		b = b[min(align4(n), len(b)):]
		switch typ {
		case nlmsgNoop, nlmsgError:
			continue
		case nlmsgOverrun:
			return fmt.Errorf("procstat: fork events: netlink overrun message")
		}
		if err := parseConnector(payload, fn); err != nil {
			return err
		}
	}
	return nil
}

// parseConnector parses one struct cn_msg.
func parseConnector(b []byte, fn func(event)) error {
	ne := binary.NativeEndian
	if len(b) < cnMsgLen {
		return fmt.Errorf("procstat: fork events: connector message of %d bytes", len(b))
	}
	idx, val := ne.Uint32(b[0:4]), ne.Uint32(b[4:8])
	dlen := int(ne.Uint16(b[16:18]))
	if dlen > len(b)-cnMsgLen {
		return fmt.Errorf("procstat: fork events: connector data length %d of %d bytes", dlen, len(b)-cnMsgLen)
	}
	if idx != cnIdxProc || val != cnValProc {
		return nil // another connector user's message
	}
	d := b[cnMsgLen : cnMsgLen+dlen]
	if len(d) < procEventHdrLen {
		return fmt.Errorf("procstat: fork events: process event of %d bytes", len(d))
	}
	ev := event{
		what: ne.Uint32(d[0:4]),
		cpu:  ne.Uint32(d[4:8]),
		seq:  ne.Uint32(b[8:12]),
		ack:  ne.Uint32(b[12:16]),
	}
	data := d[procEventHdrLen:]
	need := 0
	switch ev.what {
	case procEventNone:
		need = ackDataLen
	case procEventFork:
		need = forkDataLen
	case procEventExit:
		need = exitDataLen
	}
	if len(data) < need {
		return fmt.Errorf("procstat: fork events: event %#x with %d bytes of data", ev.what, len(data))
	}
	switch ev.what {
	case procEventNone:
		ev.ackErr = ne.Uint32(data[0:4])
	case procEventFork:
		ev.parentTgid = int32(ne.Uint32(data[4:8]))
		ev.pid = int32(ne.Uint32(data[8:12]))
		ev.tgid = int32(ne.Uint32(data[12:16]))
	case procEventExit:
		ev.pid = int32(ne.Uint32(data[0:4]))
		ev.tgid = int32(ne.Uint32(data[4:8]))
	}
	fn(ev)
	return nil
}

func align4(n int) int { return (n + 3) &^ 3 }

// mcastMessage is a netlink message carrying a PROC_CN_MCAST_* request.
func mcastMessage(op, seq, ack uint32) []byte {
	ne := binary.NativeEndian
	const n = nlmsgHdrLen + cnMsgLen + 4
	b := make([]byte, n)
	ne.PutUint32(b[0:4], n)
	ne.PutUint16(b[4:6], nlmsgDone)
	c := b[nlmsgHdrLen:]
	ne.PutUint32(c[0:4], cnIdxProc)
	ne.PutUint32(c[4:8], cnValProc)
	ne.PutUint32(c[8:12], seq)
	ne.PutUint32(c[12:16], ack)
	ne.PutUint16(c[16:18], 4)
	ne.PutUint32(c[cnMsgLen:], op)
	return b
}
