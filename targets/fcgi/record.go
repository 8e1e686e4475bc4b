package fcgi

// This file is the wire codec of FastCGI 1.0: record headers, padding and
// name-value pairs. It knows nothing of requests or connections; the client
// (client.go) strings records together.

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// ErrMalformedRecord is wrapped by every error caused by bytes that are not
// a valid FastCGI record stream: a version other than 1, an unknown record
// type, a record larger than the reader's buffer, a stream that ends inside
// a record, a name-value pair whose lengths run past its content, or a
// record body of the wrong size for its type.
var ErrMalformedRecord = errors.New("fcgi: malformed record")

// ErrParamsTooLarge is returned when a request's parameters would encode to
// more than the client's MaxParamsBytes. The request is refused rather than
// sent with parameters silently dropped.
var ErrParamsTooLarge = errors.New("fcgi: params too large")

// recType is a record type (FastCGI 1.0 §8).
type recType uint8

const (
	typeBeginRequest    recType = 1
	typeAbortRequest    recType = 2
	typeEndRequest      recType = 3
	typeParams          recType = 4
	typeStdin           recType = 5
	typeStdout          recType = 6
	typeStderr          recType = 7
	typeData            recType = 8
	typeGetValues       recType = 9
	typeGetValuesResult recType = 10
	typeUnknownType     recType = 11
	maxType                     = typeUnknownType
)

const (
	version1  = 1
	headerLen = 8
	// maxContent is the largest record body the 16-bit length can announce.
	maxContent = 65535
	maxPad     = 255
	// maxRecord is the most bytes one record can occupy after its header.
	maxRecord = maxContent + maxPad

	// flagKeepConn asks the application to keep the connection open after
	// the request, so the front can pool it.
	flagKeepConn = 1

	roleResponder = 1

	statusRequestComplete = 0
	statusCantMultiplex   = 1
	statusOverloaded      = 2
	statusUnknownRole     = 3
)

// header is the fixed 8-byte prefix of every record.
type header struct {
	Version       uint8
	Type          recType
	ID            uint16
	ContentLength uint16
	PaddingLength uint8
	Reserved      uint8
}

// parseHeader decodes and validates the 8 bytes at the start of b.
func parseHeader(b []byte) (header, error) {
	h := header{
		Version:       b[0],
		Type:          recType(b[1]),
		ID:            binary.BigEndian.Uint16(b[2:]),
		ContentLength: binary.BigEndian.Uint16(b[4:]),
		PaddingLength: b[6],
		Reserved:      b[7],
	}
	if h.Version != version1 {
		return h, fmt.Errorf("%w: version %d", ErrMalformedRecord, h.Version)
	}
	if h.Type == 0 || h.Type > maxType {
		return h, fmt.Errorf("%w: unknown type %d", ErrMalformedRecord, h.Type)
	}
	return h, nil
}

// readHeader reads exactly one record header from r. A stream that ends
// cleanly before the header returns io.EOF; one that ends inside it is a
// malformed record.
func readHeader(r io.Reader, scratch *[headerLen]byte) (header, error) {
	if _, err := io.ReadFull(r, scratch[:]); err != nil {
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return header{}, fmt.Errorf("%w: truncated header: %w", ErrMalformedRecord, err)
		}
		return header{}, err
	}
	return parseHeader(scratch[:])
}

// readRecord reads one whole record (header, content and padding) from r
// into buf and returns the header and the content, which aliases buf. It
// never reads past what the header announces, and rejects a record whose
// content and padding do not fit in buf.
func readRecord(r io.Reader, buf []byte) (header, []byte, error) {
	var scratch [headerLen]byte
	h, err := readHeader(r, &scratch)
	if err != nil {
		return h, nil, err
	}
	n := int(h.ContentLength) + int(h.PaddingLength)
	if n > len(buf) {
		return h, nil, fmt.Errorf("%w: %d-byte record exceeds the %d-byte buffer", ErrMalformedRecord, n, len(buf))
	}
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return h, nil, fmt.Errorf("%w: truncated record body: %w", ErrMalformedRecord, io.ErrUnexpectedEOF)
		}
		return h, nil, err
	}
	return h, buf[:h.ContentLength], nil
}

// zeros supplies padding; it is never written to.
var zeros [maxPad]byte

// appendHeader appends a record header for n content bytes padded, as the
// spec recommends and net/http/fcgi does, to a multiple of 8.
func appendHeader(dst []byte, t recType, id uint16, n int) []byte {
	return append(dst, version1, byte(t), byte(id>>8), byte(id),
		byte(n>>8), byte(n), byte(-n&7), 0)
}

// appendRecords appends content as a stream of records of type t, each
// carrying at most maxContent bytes. Empty content appends exactly one empty
// record, which is how a stream (PARAMS, STDIN) is ended.
func appendRecords(dst []byte, t recType, id uint16, content []byte) []byte {
	for {
		n := min(len(content), maxContent)
		dst = appendHeader(dst, t, id, n)
		dst = append(dst, content[:n]...)
		dst = append(dst, zeros[:-n&7]...)
		content = content[n:]
		if len(content) == 0 {
			return dst
		}
	}
}

// appendBeginRequest appends a BEGIN_REQUEST record.
func appendBeginRequest(dst []byte, id uint16, role uint16, flags uint8) []byte {
	dst = appendHeader(dst, typeBeginRequest, id, 8)
	return append(dst, byte(role>>8), byte(role), flags, 0, 0, 0, 0, 0)
}

// appendEndRequest appends an END_REQUEST record.
func appendEndRequest(dst []byte, id uint16, appStatus uint32, protocolStatus uint8) []byte {
	dst = appendHeader(dst, typeEndRequest, id, 8)
	dst = binary.BigEndian.AppendUint32(dst, appStatus)
	return append(dst, protocolStatus, 0, 0, 0)
}

// parseEndRequest decodes the body of an END_REQUEST record.
func parseEndRequest(content []byte) (appStatus uint32, protocolStatus uint8, err error) {
	if len(content) != 8 {
		return 0, 0, fmt.Errorf("%w: END_REQUEST body of %d bytes, want 8", ErrMalformedRecord, len(content))
	}
	return binary.BigEndian.Uint32(content), content[4], nil
}

// parseBeginRequest decodes the body of a BEGIN_REQUEST record.
func parseBeginRequest(content []byte) (role uint16, flags uint8, err error) {
	if len(content) != 8 {
		return 0, 0, fmt.Errorf("%w: BEGIN_REQUEST body of %d bytes, want 8", ErrMalformedRecord, len(content))
	}
	return binary.BigEndian.Uint16(content), content[2], nil
}

// maxPairLen is the largest name or value length the 31-bit encoding holds.
const maxPairLen = 1<<31 - 1

// appendSize appends a name-value length: one byte below 128, else four
// bytes with the top bit set.
func appendSize(dst []byte, n int) []byte {
	if n < 128 {
		return append(dst, byte(n))
	}
	return binary.BigEndian.AppendUint32(dst, uint32(n)|1<<31)
}

// pairLen is the encoded size of one name-value pair.
func pairLen(nameLen, valueLen int) int {
	n := nameLen + valueLen + 2
	if nameLen >= 128 {
		n += 3
	}
	if valueLen >= 128 {
		n += 3
	}
	return n
}

// appendPair appends one name-value pair. Both lengths must be at most
// maxPairLen; the client bounds them far below that.
func appendPair(dst []byte, name, value string) []byte {
	dst = appendSize(dst, len(name))
	dst = appendSize(dst, len(value))
	dst = append(dst, name...)
	return append(dst, value...)
}

// readSize decodes one name-value length from the start of b and returns it
// with the number of bytes it took, or ok false if b is too short.
func readSize(b []byte) (size, n int, ok bool) {
	if len(b) == 0 {
		return 0, 0, false
	}
	if b[0]&0x80 == 0 {
		return int(b[0]), 1, true
	}
	if len(b) < 4 {
		return 0, 0, false
	}
	return int(binary.BigEndian.Uint32(b) &^ (1 << 31)), 4, true
}

// parsePairs calls fn for each name-value pair in b, in order. The name and
// value alias b. A pair whose lengths are truncated or run past the end of b
// is an ErrMalformedRecord; pairs before it have been passed to fn.
func parsePairs(b []byte, fn func(name, value []byte)) error {
	for len(b) > 0 {
		nameLen, n, ok := readSize(b)
		if !ok {
			return fmt.Errorf("%w: truncated name length", ErrMalformedRecord)
		}
		b = b[n:]
		valueLen, n, ok := readSize(b)
		if !ok {
			return fmt.Errorf("%w: truncated value length", ErrMalformedRecord)
		}
		b = b[n:]
		if nameLen > len(b) || valueLen > len(b)-nameLen {
			return fmt.Errorf("%w: pair of %d+%d bytes exceeds the %d left", ErrMalformedRecord, nameLen, valueLen, len(b))
		}
		fn(b[:nameLen], b[nameLen:nameLen+valueLen])
		b = b[nameLen+valueLen:]
	}
	return nil
}
