package loadgen

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// startClosedModel starts the closed model and returns what Attack waits
// on, how to stop it early, and the engine's name for the point. With the
// default transport, a plain-HTTP target and no raw results (epollLoop
// keeps neither bodies nor headers) it runs on epollLoop, the generator
// that keeps up with wrk; otherwise on closedLoop over client's transport
// (net/http's for the reference transport, fasthttp's for https or raw
// results).
func startClosedModel(client *http.Client, tgt vegeta.Target, name string, o Options, d time.Duration, s *sink) (done <-chan struct{}, stop func(), engine string) {
	if o.Transport == TransportFastHTTP && o.Raw == nil {
		if addr, req, ok := epollRequest(tgt, !o.NoKeepAlive); ok {
			method, url := tgt.Method, tgt.URL
			deliver := func(r *vegeta.Result, _ time.Time) {
				r.Method, r.URL = method, url
				s.deliver(r, time.Time{})
			}
			if l, err := startEpoll(addr, req, len(tgt.Body), o.Connections, d, o.Timeout, deliver); err == nil {
				return l.Done(), l.Stop, EngineEpoll
			}
			// A target epoll cannot reach (an unresolvable host) is
			// left to closedLoop, which reports each failure.
		}
	}
	l := startClosed(client, tgt, name, o.Connections, d, o.Raw != nil, s)
	return l.done, l.Stop, "loop/" + o.Transport
}

// epollRequest serializes tgt for epollLoop: its address (host:port) and
// request bytes; ok is false for anything but plain http.
func epollRequest(tgt vegeta.Target, keepAlive bool) (addr string, req []byte, ok bool) {
	u, err := url.Parse(tgt.URL)
	if err != nil || u.Scheme != "http" || u.Host == "" {
		return "", nil, false
	}
	addr = u.Host
	if u.Port() == "" {
		addr = net.JoinHostPort(u.Hostname(), "80")
	}
	return addr, buildRequest(tgt.Method, u.RequestURI(), u.Host, tgt.Header, tgt.Body, keepAlive), true
}

// closedLoop is the closed model's driver: Connections workers, each
// sending its next request the moment its last one answered, for a fixed
// duration. It emits vegeta Results (vegeta's result model: the collector,
// the raw encoder and every figure are shared with the open model), but
// sends through the RoundTripper directly instead of through vegeta's
// Attacker.
//
// Why not the Attacker with rate 0? It builds each request from scratch
// (http.NewRequest parses the URL, copies the headers, sets a sequence
// header) and sends it through http.Client, which copies the headers again:
// about a fifth of the generator's CPU per request against a fast server,
// measured with `bench loadgen-check`. A closed model has no pacing to keep,
// so each worker reuses one prepared request instead. The open model, whose
// figures depend on vegeta's pacer, stays on the Attacker.
type closedLoop struct {
	rt       http.RoundTripper
	timeout  time.Duration // enforced here only for transports that do not
	keepBody bool          // Result.Body is wanted (raw output)
	tgt      vegeta.Target
	name     string

	sink *sink
	seq  atomic.Uint64
	done chan struct{} // closed when every worker has finished
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
	pool sync.Pool
}

// startClosed starts conns workers sending tgt through client's transport
// until d has elapsed or Stop is called, each delivering its results to s;
// l.done is closed when every worker has finished its last request.
func startClosed(client *http.Client, tgt vegeta.Target, name string, conns int, d time.Duration, keepBody bool, s *sink) *closedLoop {
	l := &closedLoop{rt: client.Transport, keepBody: keepBody, tgt: tgt, name: name, sink: s,
		done: make(chan struct{}), stop: make(chan struct{})}
	if _, fast := l.rt.(*FastTransport); !fast {
		l.timeout = client.Timeout // FastTransport enforces its own
	}
	l.pool.New = func() any { return new(vegeta.Result) }
	deadline := time.Now().Add(d)
	l.wg.Add(conns)
	for range conns {
		go l.worker(deadline)
	}
	go func() {
		l.wg.Wait()
		close(l.done)
	}()
	return l
}

// Stop makes the workers finish after their current request.
func (l *closedLoop) Stop() { l.once.Do(func() { close(l.stop) }) }

// deliver hands r to the sink and r back to the pool: the sink keeps
// nothing of a result.
func (l *closedLoop) deliver(r *vegeta.Result) {
	l.sink.deliver(r, time.Time{})
	*r = vegeta.Result{}
	l.pool.Put(r)
}

func (l *closedLoop) worker(deadline time.Time) {
	defer l.wg.Done()
	base, err := http.NewRequest(l.tgt.Method, l.tgt.URL, nil)
	if err != nil {
		// vegetaTarget validated the URL; report it once per worker
		// as vegeta would, rather than spinning.
		r := l.pool.Get().(*vegeta.Result)
		r.Attack, r.Timestamp, r.Method, r.URL, r.Error = l.name, time.Now(), l.tgt.Method, l.tgt.URL, err.Error()
		l.deliver(r)
		return
	}
	base.Header = l.tgt.Header.Clone()
	if host := base.Header.Get("Host"); host != "" {
		base.Host = host
	}
	if l.name != "" {
		base.Header.Set("X-Vegeta-Attack", l.name)
	}
	base.ContentLength = int64(len(l.tgt.Body))
	if len(l.tgt.Body) > 0 {
		body := l.tgt.Body
		base.GetBody = func() (io.ReadCloser, error) { return io.NopCloser(bytes.NewReader(body)), nil }
	}
	for {
		select {
		case <-l.stop:
			return
		default:
		}
		now := time.Now()
		if !now.Before(deadline) {
			return
		}
		r := l.pool.Get().(*vegeta.Result)
		r.Attack, r.Method, r.URL = l.name, l.tgt.Method, l.tgt.URL
		r.Seq = l.seq.Add(1) - 1
		r.Timestamp = now
		l.hit(base, r)
		r.Latency = time.Since(now)
		l.deliver(r)
	}
}

// hit sends req once and fills r as vegeta's Attacker does: the body read
// to the end, BytesIn its length, an Error for transport failures and for
// status codes outside 2xx-3xx.
func (l *closedLoop) hit(base *http.Request, r *vegeta.Result) {
	req := base
	if base.GetBody != nil {
		body, _ := base.GetBody()
		req = new(http.Request)
		*req = *base
		req.Body = body
	}
	if l.timeout > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), l.timeout)
		defer cancel()
		req = req.WithContext(ctx)
	}
	resp, err := l.rt.RoundTrip(req)
	if err != nil {
		r.Error = err.Error()
		return
	}
	defer resp.Body.Close()
	var n int64
	if l.keepBody {
		r.Body, err = io.ReadAll(resp.Body)
		n = int64(len(r.Body))
	} else {
		n, err = io.Copy(io.Discard, resp.Body)
	}
	r.BytesIn = uint64(n)
	if err != nil {
		r.Error = err.Error()
		return
	}
	r.BytesOut = uint64(len(l.tgt.Body))
	if r.Code = uint16(resp.StatusCode); r.Code < 200 || r.Code >= 400 {
		r.Error = resp.Status
	}
	if l.keepBody {
		r.Headers = resp.Header
	}
}
