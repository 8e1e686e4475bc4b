package testbin

import (
	"bytes"
	"sync"
)

// SyncBuffer is a log destination that servers under test may write to
// from any goroutine (a CGI host's or FastCGI front's request handlers)
// while the test reads it: a bytes.Buffer alone would race. The zero
// value is an empty buffer ready to use.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

// Write appends p to the buffer.
func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// String returns everything written so far.
func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
