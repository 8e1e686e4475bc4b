// Package spawncost measures where the time of a CGI request goes: the kernel's
// process creation and exec (the OS floor), the Go runtime's own start (an
// empty Go program), the package initialisation the app's dependencies
// add before main (the SQLite driver's, and a larger binary to load), the
// application's start-up, the request itself, and what is left (the CGI
// gateway: pipes, environment, response parsing, exit and reaping). It sets
// them against the same request answered by a persistent FastCGI daemon and
// by the handler in-process, shows how the overhead's share shrinks as the
// work per request grows, and measures what makes a spawn cheaper or dearer.
//
// Everything runs on this machine with no network: the fronts are driven
// in-process (no listener, no socket), CGI children and the FastCGI
// daemon are real processes of the real app binary. Each figure is many
// repetitions with the first few discarded, summarised by the median and
// quartiles, with outliers flagged by Tukey's fences rather than dropped.
//
// Limits: a shared machine makes every figure noisy, which the quartiles
// show; CPU time is the measured process's own (a CGI child's rusage, the
// in-process handler's thread, the FastCGI daemon's mean over a batch), not
// the front's; components derived by subtraction (runtime-init,
// package-init, app-init, exit+reap) are differences of medians, not
// distributions.
package spawncost

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"time"

	"forkbench/results"
)

// FileName is the name of the file `bench fork` writes in its output
// directory: a result file whose Fork section is the document Measure
// returns.
const FileName = "fork.json"

// DefaultReps is the number of repetitions of a spawn row; heavier rows
// take a fraction of it (see Config.Reps). With it `bench fork` finishes in
// well under a minute on two cores.
const DefaultReps = 200

// DefaultLargeHeap is the parent heap of the parent-size factor.
const DefaultLargeHeap = 1 << 30

// DefaultPath is the request decomposed: the cheapest the app serves, so
// that the request itself does not hide the overhead.
const DefaultPath = "/plaintext"

// ErrNoAppBin is returned by Measure when Config.AppBin is empty or not
// an executable file.
var ErrNoAppBin = errors.New("spawncost: the sample app binary is required (Config.AppBin)")

// Config configures Measure. Every zero value but AppBin's is a documented
// default.
type Config struct {
	// AppBin is the sample app binary (cmd/sampleapp): what CGI execs and
	// the FastCGI daemon runs. Required.
	AppBin string
	// DataDir holds the app's database (world.db), seeded there if
	// missing; "" means a temporary directory removed afterwards.
	DataDir string
	// Reps is the number of samples of a spawn row; 0 means DefaultReps.
	// App start-up and CGI rows take Reps/2, amortisation rows Reps/8,
	// in-process requests 5×Reps; each row also stops on a time budget
	// once it has a minimum, and says so in a note.
	Reps int
	// Quick measures far less (few reps, two work sizes, two concurrency
	// levels, a small parent heap, no variant builds): for tests and a
	// smoke check, not for figures.
	Quick bool
	// SkipBuilds skips building the sample app variants and the padded
	// empty Go program (binary size, linkage and package-init factors),
	// with a note. The empty Go program itself is still built: the
	// decomposition needs it. Quick implies it.
	SkipBuilds bool
	// CacheDir holds the binaries built at run time (the static C no-op,
	// the empty Go program, the app variants); "" means $XDG_CACHE_HOME/forkbench/fork (or the
	// OS equivalent).
	CacheDir string
	// ModuleDir is the forkbench module the app variants are built from;
	// "" means the module containing the working directory. Outside it,
	// the variant rows are skipped with a note.
	ModuleDir string
	// Self re-executes `bench fork` for the parent-size probe (the probe
	// flags are appended); nil means this executable followed by "fork".
	Self []string
	// SelfEnv is added to the environment of Self.
	SelfEnv []string
	// LargeHeap is the heap of the large parent in the parent-size
	// factor; 0 means DefaultLargeHeap (64 MiB with Quick).
	LargeHeap int64
	// Path is the request decomposed; "" means DefaultPath.
	Path string
	// Log receives progress lines and the children's error output; nil
	// discards.
	Log io.Writer
}

func (c Config) withDefaults() (Config, error) {
	if c.AppBin == "" {
		return c, ErrNoAppBin
	}
	abs, err := filepath.Abs(c.AppBin)
	if err != nil {
		return c, fmt.Errorf("spawncost: %w", err)
	}
	if !fileExists(abs) {
		return c, fmt.Errorf("%w: %s not found", ErrNoAppBin, abs)
	}
	c.AppBin = abs
	if c.Reps <= 0 {
		c.Reps = DefaultReps
		if c.Quick {
			c.Reps = 12
		}
	}
	if c.Quick {
		c.SkipBuilds = true
	}
	if c.CacheDir == "" {
		d, err := os.UserCacheDir()
		if err != nil {
			d = os.TempDir()
		}
		c.CacheDir = filepath.Join(d, "forkbench", "fork")
	}
	if c.Self == nil {
		exe, err := os.Executable()
		if err == nil {
			c.Self = []string{exe, "fork"}
		}
	}
	if c.LargeHeap <= 0 {
		c.LargeHeap = DefaultLargeHeap
		if c.Quick {
			c.LargeHeap = 64 << 20
		}
	}
	if c.Path == "" {
		c.Path = DefaultPath
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	// os/exec copies a child's stderr into Log from a goroutine of its
	// own while the measurer writes progress lines: one lock for both.
	c.Log = &lockedWriter{w: c.Log}
	return c, nil
}

// lockedWriter serialises writes to w.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// plans derived from Config.Reps, per kind of row.
func (c Config) spawnPlan() plan {
	return plan{warmup: max(2, c.Reps/20), reps: c.Reps, minReps: max(5, c.Reps/10), budget: 4 * time.Second}
}

func (c Config) heavyPlan() plan {
	r := max(5, c.Reps/2)
	return plan{warmup: max(2, r/20), reps: r, minReps: max(5, r/5), budget: 3 * time.Second}
}

func (c Config) requestPlan() plan {
	r := 5 * c.Reps
	return plan{warmup: max(5, r/20), reps: r, minReps: max(5, r/10), budget: 2 * time.Second}
}

func (c Config) amortPlan() plan {
	r := max(5, c.Reps/8)
	return plan{warmup: 2, reps: r, minReps: 5, budget: time.Second}
}

func (c Config) factorPlan() plan {
	r := max(5, c.Reps/2)
	return plan{warmup: max(2, r/20), reps: r, minReps: max(5, r/5), budget: 3 * time.Second}
}

func (c Config) workSizes() []int {
	if c.Quick {
		return []int{0, 10_000}
	}
	return []int{0, 1_000, 10_000, 100_000, 300_000}
}

func (c Config) concurrencyLevels() []int {
	if c.Quick {
		return []int{1, 2}
	}
	return []int{1, 2, 4, 8}
}

func (c Config) daemonReps() int {
	if c.Quick {
		return 2
	}
	return max(3, c.Reps/20)
}

// Measure runs the whole decomposition and returns its rows and notes.
// Rows that cannot be measured here (no gcc, no go tool, no module to
// build from) are left out with a note saying why; a failure of the core
// rows (the app binary, CGI, FastCGI, the embedded handler) is an error.
func Measure(ctx context.Context, cfg Config) (*results.Fork, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	m, err := newMeasurer(ctx, cfg)
	if err != nil {
		return nil, err
	}
	defer m.close()
	steps := []struct {
		name string
		fn   func(context.Context) error
	}{
		{"components", m.components},
		{"decomposition", m.decompose},
		{"amortisation", m.amortise},
		{"model", m.model},
		{"factors", m.factors},
		{"concurrency", m.concurrency},
		{"daemon", m.daemonLives},
	}
	for _, s := range steps {
		m.logf("spawncost: measuring %s", s.name)
		if err := s.fn(ctx); err != nil {
			return nil, err
		}
	}
	return m.fk, nil
}
