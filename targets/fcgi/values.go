package fcgi

// This file is the management side of the protocol: FCGI_GET_VALUES, by
// which a web server asks an application how many connections and requests
// it can take (FastCGI 1.0 §4.1), so the pool can be sized to the daemon
// instead of starving it.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"
)

// The management variables of FastCGI 1.0 §4.1.
const (
	ValueMaxConns  = "FCGI_MAX_CONNS"  // concurrent connections the application accepts
	ValueMaxReqs   = "FCGI_MAX_REQS"   // concurrent requests it accepts
	ValueMpxsConns = "FCGI_MPXS_CONNS" // "1" if it serves several requests per connection at once
)

// ErrNoValues is wrapped by GetValues' error when the application answers
// FCGI_GET_VALUES with FCGI_UNKNOWN_TYPE: it implements no management
// records at all.
var ErrNoValues = errors.New("fcgi: application does not answer FCGI_GET_VALUES")

// GetValues asks the daemon for the named management variables on a
// connection of its own, outside the pool's accounting, and closes it:
// some daemons (PHP-FPM) close a connection after a management record
// anyway. The map holds the variables the daemon answered, which may be
// fewer than asked (PHP-FPM answers FCGI_MPXS_CONNS only; Go's
// net/http/fcgi likewise). ctx bounds the exchange; a daemon that never
// answers makes it end with ctx's error.
func (p *Pool) GetValues(ctx context.Context, names ...string) (map[string]string, error) {
	c, err := p.connect(ctx)
	if err != nil {
		return nil, err
	}
	defer c.Close()
	// Only ctx ends the exchange, so that its error is the one reported.
	stop := context.AfterFunc(ctx, func() { _ = c.SetDeadline(aLongTimeAgo) })
	defer stop()

	var pairs []byte
	for _, n := range names {
		pairs = appendPair(pairs, n, "")
	}
	if _, err := c.Write(appendRecords(nil, typeGetValues, 0, pairs)); err != nil {
		return nil, fmt.Errorf("fcgi: sending FCGI_GET_VALUES: %w", err)
	}
	vals, err := readValues(c.br)
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("fcgi: FCGI_GET_VALUES: %w", ctx.Err())
	}
	return vals, err
}

// readValues reads the reply to FCGI_GET_VALUES: one GET_VALUES_RESULT
// record for request id 0, or UNKNOWN_TYPE (ErrNoValues). Anything else is
// an error; r is not read past the reply.
func readValues(r *bufio.Reader) (map[string]string, error) {
	buf := make([]byte, maxRecord)
	h, content, err := readRecord(r, buf)
	if err != nil {
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("fcgi: FCGI_GET_VALUES: connection closed without a reply: %w", err)
		}
		return nil, fmt.Errorf("fcgi: FCGI_GET_VALUES: %w", err)
	}
	if h.ID != 0 {
		return nil, fmt.Errorf("%w: type %d for request %d in reply to FCGI_GET_VALUES", ErrUnexpectedRecord, h.Type, h.ID)
	}
	switch h.Type {
	case typeUnknownType:
		return nil, ErrNoValues
	case typeGetValuesResult:
	default:
		return nil, fmt.Errorf("%w: type %d in reply to FCGI_GET_VALUES", ErrUnexpectedRecord, h.Type)
	}
	vals := make(map[string]string)
	err = parsePairs(content, func(name, value []byte) { vals[string(name)] = string(value) })
	if err != nil {
		return nil, fmt.Errorf("fcgi: FCGI_GET_VALUES_RESULT: %w", err)
	}
	return vals, nil
}

// valuesTimeout bounds the FCGI_GET_VALUES probe at start: a daemon that
// ignores management records must not hold the start up for long.
const valuesTimeout = 2 * time.Second

// poolPlan is how a Target sizes its pool and whether it keeps
// connections, with the reason, which Start logs.
type poolPlan struct {
	maxOpen int
	keep    bool
	why     string
}

// planPool decides the pool from the configuration and what the daemon
// declared (vals, or the probe's error). The hazard it avoids: daemons
// such as PHP-FPM give each connection a worker for as long as it stays
// open, so a front that keeps more connections than there are workers
// leaves the extra ones (and their requests) waiting in the listen backlog
// forever. Hence, unless MaxConns says otherwise:
//   - FCGI_MAX_CONNS (and FCGI_MAX_REQS, for a daemon that does not
//     multiplex) declared: keep at most that many connections;
//   - FCGI_MPXS_CONNS=1: connections are not workers (Go's net/http/fcgi
//     serves each request on its own goroutine): keep up to DefaultMaxOpen;
//   - otherwise the worker count is unknown, so connections are not kept,
//     as Apache's mod_proxy_fcgi does by default; each request then waits
//     its turn in the daemon's backlog and none waits forever.
func planPool(cfg Config, vals map[string]string, probeErr error) poolPlan {
	declared := declaredMax(vals)
	switch {
	case cfg.MaxConns > 0:
		why := fmt.Sprintf("MaxConns=%d as configured", cfg.MaxConns)
		if declared > 0 && declared < cfg.MaxConns {
			why += fmt.Sprintf(" (the daemon declares only %d)", declared)
		}
		return poolPlan{cfg.MaxConns, cfg.KeepConn, why}
	case declared > 0:
		return poolPlan{declared, cfg.KeepConn, fmt.Sprintf("%d connections, as the daemon declares (FCGI_GET_VALUES)", declared)}
	case !cfg.KeepConn:
		return poolPlan{DefaultMaxOpen, false, "FCGI_KEEP_CONN off as configured"}
	case vals[ValueMpxsConns] == "1":
		return poolPlan{DefaultMaxOpen, true, fmt.Sprintf("up to %d kept connections: the daemon multiplexes (FCGI_MPXS_CONNS=1) and declares no FCGI_MAX_CONNS", DefaultMaxOpen)}
	}
	why := "the daemon declares no FCGI_MAX_CONNS"
	if probeErr != nil {
		why = fmt.Sprintf("FCGI_GET_VALUES failed (%v)", probeErr)
	}
	return poolPlan{DefaultMaxOpen, false, why + ", so its worker count is unknown: not keeping connections (set MaxConns, --fcgi-max-conns, to its worker count to keep that many)"}
}

// declaredMax is the concurrency a daemon declared: FCGI_MAX_CONNS, or
// fewer if it serves one request per connection and declares fewer
// FCGI_MAX_REQS; 0 if it declared none.
func declaredMax(vals map[string]string) int {
	n := positive(vals[ValueMaxConns])
	if r := positive(vals[ValueMaxReqs]); r > 0 && vals[ValueMpxsConns] != "1" && (n == 0 || r < n) {
		n = r
	}
	return n
}

// positive parses a decimal count, 0 for anything else.
func positive(s string) int {
	n, err := strconv.Atoi(s)
	if err != nil || n <= 0 {
		return 0
	}
	return n
}
