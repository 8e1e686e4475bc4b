// Package loadgen drives one HTTP address with vegeta's attack library and
// turns what it sees into a results.Point: counts, rates, latency
// histograms (from the actual send, and for the open model from the
// intended send), a timeline, and what the server's process tree and the
// generator itself spent during the measured window.
//
// Two load models, never mixed up in a figure:
//   - open ("open"): requests are sent at a constant rate whether or not
//     earlier ones have answered; queueing shows as latency. Latency and
//     knee figures come from it. Corrected latency is measured from each
//     request's intended send time (its slot in the schedule), which is
//     what a user would have waited (no coordinated omission).
//   - closed ("closed"): Connections workers, each sending its next request
//     when the last one has answered. Capacity figures come from it; its
//     latencies hide queueing.
//
// The generator must not be what is measured. vegeta on net/http's client
// costs more CPU per request than a small Go server does, so both models
// run on epollLoop: one thread, raw non-blocking sockets and
// level-triggered epoll, the way wrk works, recording vegeta Results.
//   - The closed model: each connection sends its next request when the
//     last one answered. Where epollLoop cannot serve (https, raw results
//     that keep bodies and headers, the net/http reference transport)
//     closedLoop does: a worker per connection on the chosen client.
//   - The open model, the way wrk2 works: Connections connections, each
//     with its share of the rate on its own schedule (OpenSchedule), at
//     most one request in flight on each. A request due while its
//     connection is busy is sent late, when the answer arrives; the lag
//     shows in its corrected latency, in the point's SendLag and, for the
//     requests still waiting at the end, Unsent. So load is bounded by
//     the settings and an overloaded target is offered what it can serve
//     on them. vegeta's Attacker and pacer (Engine "vegeta", with
//     FastTransport, an http.RoundTripper on fasthttp, or net/http's
//     client) stay for comparison and where epoll cannot go (https):
//     when it falls behind it adds workers and connections without bound
//     and, on a 2-core machine, collapses to a few requests a second.
//
// Measured with `bench loadgen-check` on the 2-core development VM
// (embedded /plaintext pinned to CPU 1, generator on CPU 0, 32
// connections): generator CPU per request ~13µs on epollLoop, ~17-20µs on
// closedLoop with FastTransport, ~22µs through vegeta's Attacker and ~30-40µs
// with net/http's transport, against ~14µs for wrk. Each point records the
// engine it ran on and the generator's own CPU share, and is marked
// GeneratorBound at 90% of its CPUs, so a point the generator limited is
// visible; an open-model point that fell short of its rate while
// generator-bound is GeneratorLimited, and the knee leaves it out.
//
// The open model on epollLoop, measured the same way on a 2-core VM shared
// with other jobs (noisy; `bench loadgen-check --model open`, sweeps):
// near the target's capacity (0.9×) ~33-43µs of CPU per request against
// the closed model's ~25-35µs; below it more (~40µs at 0.75×, ~70µs at
// 0.5×), because the generator sleeps between sends and every wake-up
// costs tens of microseconds on these VMs. Offered more than the target
// serves, it achieves about the closed model's throughput. vegeta's
// Attacker collapsed to a few requests a second from about 0.4× of the
// closed capacity up.
//
// A vegeta Attacker is single-use and has no context: Attack builds one per
// open-model call and stops it when ctx is done.
package loadgen

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"forkbench/results"
)

// Target is what loadgen needs of a deployment: where to send requests and
// which process trees to account. It is a subset of targets.Target.
type Target interface {
	// Name labels the point ("cgi", "fcgi", …).
	Name() string
	// URL is the base URL, "http://127.0.0.1:PORT"; Request.Path is
	// appended to it.
	URL() string
	// PIDs lists the roots of the process trees whose cost is the
	// target's; empty when it cannot be observed (Server.Observed false).
	// It is called at the start and end of the measured window and by the
	// RSS sampler, so a restarted daemon is followed.
	PIDs() []int
}

// Request is the one request an attack repeats.
type Request struct {
	// Endpoint names the request in results ("plaintext", "db", …).
	Endpoint string
	// Method is the HTTP method; "" means GET.
	Method string
	// Path is the path and query appended to the target's URL; "" means
	// "/".
	Path string
	// Header is sent with every request. A User-Agent of
	// "forkbench-loadgen" is added when it has none, so that both
	// transports send the same headers.
	Header http.Header
	// Body is sent with every request.
	Body []byte
}

// Engines: how the generator sends requests (results.Point.Engine).
const (
	// EngineEpoll is epollLoop, for both models.
	EngineEpoll = "epoll"
	// EngineVegeta is vegeta's Attacker and pacer, open model only,
	// recorded as "vegeta/" + the transport.
	EngineVegeta = "vegeta"
)

// Arrival processes of the open model on the epoll engine.
const (
	ArrivalsUniform = "uniform"
	ArrivalsPoisson = "poisson"
)

// Defaults for zero Options fields.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultTimelineInterval = time.Second
	// MaxRate is the highest open-model rate: one request per nanosecond
	// is the pacer's resolution.
	MaxRate = 1e9
)

// Options configures one attack. The zero value of each field is
// documented; Validate reports the invalid ones.
type Options struct {
	// Model is results.ModelOpen or results.ModelClosed. Required.
	Model results.Model
	// Rate is the open model's constant offered rate in requests per
	// second (fractions allowed). It must be 0 for the closed model.
	Rate float64
	// Connections is the number of connections to the target: the
	// closed model's concurrency, and the open model's connection limit
	// (requests beyond it wait for a free connection, and that wait is
	// part of their latency). Must be at least 1.
	Connections int
	// Duration is the measured window. Must be positive.
	Duration time.Duration
	// Warmup runs first at the same load and is not counted (it opens the
	// connections and warms caches). The attack is one continuous run of
	// Warmup+Duration, so the open model's schedule does not restart.
	Warmup time.Duration
	// Timeout bounds each request, including any wait for a free
	// connection; 0 means DefaultTimeout.
	Timeout time.Duration
	// Transport is TransportFastHTTP (the default, "") or
	// TransportNetHTTP (the stock client, for comparison).
	Transport string
	// Engine is the open model's engine: "" (epoll where it can serve:
	// the fasthttp transport and an http:// target; vegeta elsewhere),
	// EngineEpoll (an error where it cannot serve) or EngineVegeta. The
	// closed model ignores it.
	Engine string
	// Poisson gives the open model exponential gaps between sends
	// instead of even spacing (epoll engine only; see OpenSchedule).
	Poisson bool
	// Seed seeds the Poisson gaps, so that a run is reproducible.
	Seed uint64
	// NoKeepAlive opens a new connection for every request.
	NoKeepAlive bool
	// GeneratorCPUs is the number of CPUs the generator is confined to,
	// for Generator.CoreShare; 0 means runtime.NumCPU().
	GeneratorCPUs int
	// TimelineInterval is the width of a timeline bucket; 0 means
	// DefaultTimelineInterval.
	TimelineInterval time.Duration
	// Raw, if non-nil, receives every measured vegeta.Result in vegeta's
	// gob encoding, which `vegeta report` and `vegeta plot` read:
	// Timestamp is the actual send and Latency the service time (for
	// uniform arrivals the intended send is origin + OpenSchedule.Due(Seq)).
	// Encoding costs generator CPU. Response bodies and headers are kept
	// only when Raw is set, and not by the open model's epoll engine.
	Raw io.Writer
	// Shard, when Count > 1, makes this attack one of Count generators
	// sharing a load: see Shard for how the open model's sends are
	// offset. Rate and Connections are this shard's share.
	Shard Shard
	// Progress, if non-nil, is called about every 500ms with the time
	// elapsed and the total (Warmup+Duration). It must return quickly.
	Progress func(done, total time.Duration)
}

// ErrInvalidOptions is wrapped by every error Validate returns.
var ErrInvalidOptions = errors.New("loadgen: invalid options")

// Validate reports the first invalid field of o in one line.
func Validate(o Options) error {
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: "+format, append([]any{ErrInvalidOptions}, args...)...)
	}
	switch o.Model {
	case results.ModelOpen:
		if !(o.Rate > 0) || o.Rate > MaxRate {
			return bad("open model needs a rate in (0, %g] req/s, got %g", float64(MaxRate), o.Rate)
		}
	case results.ModelClosed:
		if o.Rate != 0 {
			return bad("closed model takes no rate (got %g); use connections", o.Rate)
		}
	default:
		return bad("model %q is neither %q nor %q", o.Model, results.ModelOpen, results.ModelClosed)
	}
	switch {
	case o.Connections < 1:
		return bad("connections must be at least 1, got %d", o.Connections)
	case o.Duration <= 0:
		return bad("duration must be positive, got %v", o.Duration)
	case o.Warmup < 0:
		return bad("warm-up must not be negative, got %v", o.Warmup)
	case o.Timeout < 0:
		return bad("timeout must not be negative, got %v", o.Timeout)
	case o.GeneratorCPUs < 0:
		return bad("generator CPUs must not be negative, got %d", o.GeneratorCPUs)
	case o.TimelineInterval < 0:
		return bad("timeline interval must not be negative, got %v", o.TimelineInterval)
	}
	if err := o.Shard.Validate(); err != nil {
		return err
	}
	switch o.Transport {
	case "", TransportFastHTTP, TransportNetHTTP:
	default:
		return bad("transport %q is neither %q nor %q", o.Transport, TransportFastHTTP, TransportNetHTTP)
	}
	switch o.Engine {
	case "", EngineEpoll, EngineVegeta:
	default:
		return bad("engine %q is neither %q nor %q", o.Engine, EngineEpoll, EngineVegeta)
	}
	if o.Poisson && (o.Model != results.ModelOpen || o.Engine == EngineVegeta) {
		return bad("poisson arrivals need the open model on the %s engine", EngineEpoll)
	}
	if o.Engine == EngineEpoll && o.Transport == TransportNetHTTP {
		return bad("the %s engine has its own client; it does not take transport %q", EngineEpoll, o.Transport)
	}
	return nil
}
