// Package scenario is the run plan: which targets, endpoints, load models,
// rates and rounds a `bench run` measures, read from a scenario file
// (TOML) and overridden by flags. It is the one place defaults live.
package scenario

import (
	"embed"
	"errors"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"forkbench/results"
)

//go:embed scenarios/*.toml
var builtin embed.FS

// Models a scenario can ask for (results.Model, the one type of a load
// model). ModelSweep steps an open-model rate through fractions of each
// target's closed-model capacity to find its knee.
const (
	ModelClosed = results.ModelClosed
	ModelOpen   = results.ModelOpen
	ModelSweep  = results.ModelSweep
)

// ErrBadScenario is wrapped by every validation error.
var ErrBadScenario = errors.New("scenario")

// Duration is a time.Duration that reads from TOML strings like "1.5s".
type Duration struct{ time.Duration }

// UnmarshalText parses a Go duration.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	d.Duration = v
	return nil
}

// MarshalText renders a Go duration.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Scenario describes a whole measurement matrix.
type Scenario struct {
	Name      string          `toml:"name"`
	Targets   []string        `toml:"targets"`
	Endpoints []string        `toml:"endpoints"`
	Models    []results.Model `toml:"models"`
	// Rate is the offered rate of open-model points, req/s.
	Rate float64 `toml:"rate"`
	// SweepFactors are the sweep's offered rates as fractions of each
	// target's closed-model capacity measured in the same round.
	SweepFactors []float64 `toml:"sweep_factors"`
	Connections  int       `toml:"connections"`
	Duration     Duration  `toml:"duration"`
	Warmup       Duration  `toml:"warmup"`
	Timeout      Duration  `toml:"timeout"`
	Rounds       int       `toml:"rounds"`
	SLOP99       Duration  `toml:"slo_p99"`
	// Transport is the generator's HTTP client: "fasthttp" (default) or
	// "nethttp".
	Transport string `toml:"transport"`
	// Engine is the open model's engine: "" (the epoll engine where it
	// can serve), "epoll" or "vegeta" (vegeta's attacker, for
	// comparison).
	Engine string `toml:"engine"`
	// Arrivals is the open model's arrival process on the epoll engine:
	// "uniform" (default, evenly spaced) or "poisson", whose gaps are
	// drawn from Seed.
	Arrivals string `toml:"arrivals"`
	Seed     uint64 `toml:"seed"`
	// EchoBytes is the request body size for /echo.
	EchoBytes int `toml:"echo_bytes"`
	// References are real servers (targets/fronts: nginx-fcgiwrap,
	// nginx-fcgi, apache-cgi, …) measured beside the run's own
	// deployments of the same app over the same protocol, in the closed
	// model only, so that every run shows where the suite's fronts stand
	// against Apache's and nginx's on the same child or daemon. The runner
	// measures a reference only beside such a target, and skips one whose
	// server is not installed with its reason.
	References []string `toml:"references"`
	// Fork adds the spawn-cost decomposition (`bench fork`) to the run,
	// so regressions in spawn cost are caught like any other figure.
	Fork bool `toml:"fork"`
	// Requests, when set, are a user's requests (ReadRequests) measured
	// in place of the app's endpoints; Endpoints then holds their names.
	Requests []Endpoint `toml:"-"`
}

// WithRequests returns s measuring reqs instead of the app's endpoints.
func (s Scenario) WithRequests(reqs []Endpoint) Scenario {
	s.Requests = reqs
	s.Endpoints = nil
	for _, r := range reqs {
		s.Endpoints = append(s.Endpoints, r.Name)
	}
	return s
}

// request returns the user's request named name.
func (s Scenario) request(name string) (Endpoint, bool) {
	for _, r := range s.Requests {
		if r.Name == name {
			return r, true
		}
	}
	return Endpoint{}, false
}

// Builtin returns a scenario shipped with the suite ("quick", "nightly").
func Builtin(name string) (Scenario, error) {
	data, err := builtin.ReadFile("scenarios/" + name + ".toml")
	if err != nil {
		return Scenario{}, fmt.Errorf("%w: no built-in scenario %q (have: quick, nightly)", ErrBadScenario, name)
	}
	return parse(data, name)
}

// Load reads a scenario file. A file can name only what it changes: it is
// read over the quick scenario's values.
func Load(path string) (Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Scenario{}, fmt.Errorf("%w: %w", ErrBadScenario, err)
	}
	return parse(data, path)
}

func parse(data []byte, where string) (Scenario, error) {
	var s Scenario
	if where != "quick" {
		q, err := Builtin("quick")
		if err != nil {
			return s, err
		}
		s = q
	}
	md, err := toml.Decode(string(data), &s)
	if err != nil {
		return Scenario{}, fmt.Errorf("%w: %s: %v", ErrBadScenario, where, err)
	}
	if und := md.Undecoded(); len(und) > 0 {
		return Scenario{}, fmt.Errorf("%w: %s: unknown key %q", ErrBadScenario, where, und[0].String())
	}
	if s.Transport == "" {
		s.Transport = "fasthttp"
	}
	if s.EchoBytes == 0 {
		s.EchoBytes = 1024
	}
	return s, s.Validate()
}

// Validate checks the plan before any load is sent; every error names the
// problem in one line.
func (s Scenario) Validate() error {
	bad := func(format string, a ...any) error {
		return fmt.Errorf("%w: %s", ErrBadScenario, fmt.Sprintf(format, a...))
	}
	if len(s.Targets) == 0 {
		return bad("no targets")
	}
	if len(s.Endpoints) == 0 {
		return bad("no endpoints")
	}
	for _, e := range s.Endpoints {
		if _, ok := s.request(e); ok {
			continue
		}
		if _, ok := endpoints[e]; !ok {
			return bad("unknown endpoint %q (known: %s)", e, strings.Join(EndpointNames(), ", "))
		}
	}
	if len(s.Models) == 0 {
		return bad("no models")
	}
	for _, m := range s.Models {
		if err := m.Validate(); err != nil {
			return bad("unknown model %q (known: closed, open, sweep)", m)
		}
	}
	if slices.Contains(s.Models, ModelOpen) && s.Rate <= 0 {
		return bad("open model needs a rate > 0, got %v", s.Rate)
	}
	if slices.Contains(s.Models, ModelSweep) {
		if len(s.SweepFactors) == 0 {
			return bad("sweep model needs sweep_factors")
		}
		if s.SLOP99.Duration <= 0 {
			return bad("sweep model needs slo_p99 > 0")
		}
		for _, f := range s.SweepFactors {
			if f <= 0 {
				return bad("sweep factor %v must be > 0", f)
			}
		}
	}
	if s.Connections < 1 {
		return bad("connections must be ≥ 1, got %d", s.Connections)
	}
	if s.Duration.Duration <= 0 {
		return bad("duration must be > 0, got %v", s.Duration.Duration)
	}
	if s.Warmup.Duration < 0 {
		return bad("warmup must be ≥ 0")
	}
	if s.Timeout.Duration <= 0 {
		return bad("timeout must be > 0")
	}
	if s.Rounds < 1 {
		return bad("rounds must be ≥ 1, got %d", s.Rounds)
	}
	if s.Transport != "fasthttp" && s.Transport != "nethttp" {
		return bad("unknown transport %q (fasthttp, nethttp)", s.Transport)
	}
	if s.Engine != "" && s.Engine != "epoll" && s.Engine != "vegeta" {
		return bad("unknown engine %q (epoll, vegeta)", s.Engine)
	}
	if s.Arrivals != "" && s.Arrivals != "uniform" && s.Arrivals != "poisson" {
		return bad("unknown arrivals %q (uniform, poisson)", s.Arrivals)
	}
	if s.Arrivals == "poisson" && (s.Engine == "vegeta" || s.Transport != "fasthttp") {
		return bad("poisson arrivals need the epoll engine (engine epoll or unset, transport fasthttp)")
	}
	if s.Engine == "epoll" && s.Transport != "fasthttp" {
		return bad("the epoll engine has its own client; transport %q is for the vegeta engine", s.Transport)
	}
	return nil
}

// Endpoint is one request the generator sends, by its short name.
type Endpoint struct {
	Name   string
	Method string
	Path   string
	// Body is sent with POST endpoints.
	Body []byte
	// Header is added to every request.
	Header http.Header
}

// endpoints are the app's endpoints as the generator requests them, with
// the parameters a benchmark of that endpoint uses.
var endpoints = map[string]Endpoint{
	"plaintext": {Method: "GET", Path: "/plaintext"},
	"json":      {Method: "GET", Path: "/json"},
	"db":        {Method: "GET", Path: "/db"},
	"queries":   {Method: "GET", Path: "/queries?n=20"},
	"fortunes":  {Method: "GET", Path: "/fortunes"},
	"echo":      {Method: "POST", Path: "/echo"},
	"work":      {Method: "GET", Path: "/work?n=1000"},
	"sleep":     {Method: "GET", Path: "/sleep?ms=10"},
	"bytes":     {Method: "GET", Path: "/bytes?n=65536"},
}

// EndpointNames lists the known endpoint names, sorted.
func EndpointNames() []string {
	names := make([]string, 0, len(endpoints))
	for n := range endpoints {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Endpoint returns the request for name; echo gets a deterministic body of
// s.EchoBytes bytes.
func (s Scenario) Endpoint(name string) (Endpoint, error) {
	if r, ok := s.request(name); ok {
		return r, nil
	}
	e, ok := endpoints[name]
	if !ok {
		return Endpoint{}, fmt.Errorf("%w: unknown endpoint %q", ErrBadScenario, name)
	}
	e.Name = name
	if e.Method == "POST" {
		e.Body = make([]byte, s.EchoBytes)
		for i := range e.Body {
			e.Body[i] = byte('a' + i%26)
		}
		e.Header = http.Header{"Content-Type": {"application/octet-stream"}}
	}
	return e, nil
}
