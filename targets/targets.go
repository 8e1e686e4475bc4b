// Package targets defines what the suite measures: a Target is one
// deployment of the sample application (or of a user's program, or an
// external URL) that answers HTTP on an address.
//
// The deployments themselves live one per sub-package: targets/embedded
// (the app handler in the front's own process), targets/cgi (a new process
// per request), targets/fcgi (a persistent FastCGI daemon behind the front),
// targets/external (a URL the suite does not start). Process runs any of
// them (or a real front such as Apache or nginx) as a separate, pinned
// process, which is how `bench run` measures: the load generator and the
// server never share a process or, where there are two cores, a CPU.
//
// A Target is single-use: Start once, Stop once. Each measurement round
// builds a fresh one so every round starts with fresh processes.
package targets

import (
	"context"
	"errors"
	"time"
)

// Target is a running deployment under test.
//
// The load generator consumes a smaller interface of its own (an address and
// the process ids to account); this one adds the lifecycle that only the
// code starting deployments needs.
type Target interface {
	// Name is the short label used in results and charts ("cgi", "fcgi",
	// "embedded", or a user-chosen name).
	Name() string
	// Start brings the deployment up and returns once it accepts requests.
	// ctx bounds the start-up only, not the target's lifetime.
	Start(ctx context.Context) error
	// URL is the base URL ("http://127.0.0.1:PORT"), valid after Start.
	URL() string
	// PIDs lists the roots of the process trees whose CPU time and memory
	// are the target's cost, valid after Start. The list may change while
	// the target runs (a supervised daemon restarts). External targets
	// return nil: their cost cannot be observed.
	PIDs() []int
	// Stop shuts the deployment down and reaps every process it started.
	// It is safe to call after a failed Start and more than once.
	Stop(ctx context.Context) error
}

// ErrNotStarted is returned by operations that need a started target.
var ErrNotStarted = errors.New("targets: target not started")

// Start starts t and, when that fails, stops it (reaping whatever it had
// started) before returning the error.
func Start(ctx context.Context, t Target) error {
	if err := t.Start(ctx); err != nil {
		_ = t.Stop(context.Background())
		return err
	}
	return nil
}

// StopAll stops ts on the way out, giving them 15 seconds together; their
// errors are dropped (a stopped target has nothing left to report).
func StopAll(ts ...Target) {
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	for _, t := range ts {
		_ = t.Stop(ctx)
	}
}

// ErrUnavailable is wrapped by the error of a target that cannot run on
// this machine because something it needs is not installed (a server, a
// module, an interpreter): a runner skips it with the reason instead of
// failing the run.
var ErrUnavailable = errors.New("targets: not available on this machine")

// UnavailableError is a target's one-line reason for being unavailable,
// as a `bench serve` child reported it (see Process).
type UnavailableError struct {
	Target string
	Reason string
}

func (e *UnavailableError) Error() string {
	return "targets: " + e.Target + " unavailable: " + e.Reason
}

// Is makes errors.Is(err, ErrUnavailable) true.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

// UnavailablePrefix starts the first line a child prints instead of
// "listening on …" when its target is unavailable; the rest of the line
// is the reason.
const UnavailablePrefix = "unavailable: "
