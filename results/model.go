package results

import "fmt"

// Model is a load model, always named next to a figure so nobody
// mistakes a capacity figure for a latency figure. A point is measured
// under ModelOpen or ModelClosed; ModelSweep is a run plan's request for
// a series of open-model points (one per sweep step) and never a point's
// own model.
type Model string

// The load models.
const (
	// ModelOpen is an open-model, constant-rate attack (vegeta's pacer):
	// requests are sent on schedule whether or not earlier ones have
	// answered, so queueing shows in latency. Latency figures come from it.
	ModelOpen Model = "open"
	// ModelClosed is a closed-model attack: N connections, each sending
	// when its last request answered. Capacity figures come from it; its
	// latencies hide queueing (coordinated omission) and are not latency
	// figures.
	ModelClosed Model = "closed"
	// ModelSweep steps an open-model rate through fractions of each
	// target's closed-model capacity measured in the same round, to find
	// its knee. Its points are ModelOpen points with a SweepFactor.
	ModelSweep Model = "sweep"
)

// Models lists every model a run plan may ask for.
func Models() []Model { return []Model{ModelClosed, ModelOpen, ModelSweep} }

// Validate returns an error naming the known models when m is not one.
func (m Model) Validate() error {
	switch m {
	case ModelClosed, ModelOpen, ModelSweep:
		return nil
	}
	return fmt.Errorf("results: unknown model %q (known: closed, open, sweep)", string(m))
}
