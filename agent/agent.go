// Package agent is `bench agent`: a small, read-only HTTP server that runs
// on the server's host, next to any target (a `bench serve`, a real front,
// a user's server found by pid, process-name pattern or cgroup), and
// serves what the target's process tree costs over a window the client
// asks for — CPU in nanoseconds where the kernel offers it, peak RSS,
// processes created — with the host's facts and a clock for measuring the
// offset between the hosts. It is how `bench run --agent` records the same
// server-side figures for a target on another machine as for a local one.
//
// The agent only reads /proc and /sys: it never signals, starts or
// changes anything, and its endpoints accept GET only. It listens on
// loopback unless told otherwise and then requires a shared bearer token
// (CheckListen), since its figures describe a host's workload.
//
// Endpoints (JSON):
//
//	GET /v1/info                       target description and host facts (Info)
//	GET /v1/clock                      agent's receive and transmit times (ClockReply)
//	GET /v1/window?start=NS&end=NS     blocks until end, returns the cost over [start, end] (Cost)
//
// Window times are Unix nanoseconds on the agent's clock: a client on
// another host converts its own times with the offset measured through
// /v1/clock (Client.Clock). A window must be asked for before it starts:
// the agent takes its first snapshot when it begins (a start already past
// by less than LateStart is taken at once and reported as such).
package agent

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"forkbench/results"
)

// Limits of a window request, named so that a misbehaving client cannot
// hold the agent's resources for long.
const (
	// MaxWindow is the longest window served.
	MaxWindow = time.Hour
	// MaxLead is how far in the future a window may start.
	MaxLead = time.Hour
	// LateStart is how far in the past a window's start may be; its
	// first snapshot is then taken at once and Cost.StartNs says when.
	LateStart = time.Second
	// MaxWindows is the number of windows measured at once (one per
	// shard of a sharded load is typical).
	MaxWindows = 64
)

// TokenEnv names the environment variable `bench agent` and `bench run`
// read the shared token from when no token file is given (a token on the
// command line would show in ps).
const TokenEnv = "FORKBENCH_AGENT_TOKEN"

// ErrTokenRequired is returned by CheckListen for a non-loopback address
// without a token.
var ErrTokenRequired = errors.New("agent: a token is required to listen beyond loopback (--token-file or FORKBENCH_AGENT_TOKEN)")

// Config is one agent.
type Config struct {
	// Target selects the processes served.
	Target Selector
	// Token, when not empty, must be sent by every client as
	// "Authorization: Bearer TOKEN".
	Token string
	// Host is served as the host's facts; its zero value means
	// results.CollectEnvironment.
	Host results.Environment
	// SampleInterval is the peak-RSS sampling interval; 0 means
	// procstat.DefaultSampleInterval.
	SampleInterval time.Duration
}

// Info is GET /v1/info.
type Info struct {
	// Target describes the selector ("pid 123", "pattern ^nginx$").
	Target string `json:"target"`
	// Host is the agent's machine.
	Host results.Environment `json:"host"`
}

// ClockReply is GET /v1/clock: t2 and t3 of an NTP-style exchange.
type ClockReply struct {
	ReceiveNs  int64 `json:"receive_ns"`
	TransmitNs int64 `json:"transmit_ns"`
}

// Server serves one target's cost.
type Server struct {
	cfg   Config
	slots chan struct{}
}

// New checks cfg and returns a server. ctx bounds collecting the host's
// facts only.
func New(ctx context.Context, cfg Config) (*Server, error) {
	if err := cfg.Target.compile(); err != nil {
		return nil, err
	}
	if cfg.Target.Cgroup != "" {
		if _, err := cfg.Target.Roots(); err != nil {
			return nil, err
		}
	}
	if cfg.Host.OS == "" {
		cfg.Host = results.CollectEnvironment(ctx, nil)
	}
	return &Server{cfg: cfg, slots: make(chan struct{}, MaxWindows)}, nil
}

// CheckListen refuses a listen address beyond loopback when there is no
// token. An empty host (":7070") listens on every interface and is not
// loopback; "localhost" is.
func CheckListen(addr, token string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("agent: listen address %q: %w", addr, err)
	}
	if token != "" || isLoopback(host) {
		return nil
	}
	return fmt.Errorf("%w: %s is not a loopback address", ErrTokenRequired, addr)
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Handler returns the agent's HTTP handler.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v1/info", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, Info{Target: s.cfg.Target.String(), Host: s.cfg.Host})
	})
	mux.HandleFunc("GET /v1/clock", func(w http.ResponseWriter, r *http.Request) {
		rx := time.Now().UnixNano()
		writeJSON(w, http.StatusOK, ClockReply{ReceiveNs: rx, TransmitNs: time.Now().UnixNano()})
	})
	mux.HandleFunc("GET /v1/window", s.window)
	return s.auth(mux)
}

// auth checks the bearer token (when one is configured) and that the
// request only reads.
func (s *Server) auth(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			writeError(w, http.StatusMethodNotAllowed, "the agent is read-only: GET only")
			return
		}
		if s.cfg.Token != "" {
			got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
			if !ok || subtle.ConstantTimeCompare([]byte(got), []byte(s.cfg.Token)) != 1 {
				w.Header().Set("WWW-Authenticate", `Bearer realm="forkbench-agent"`)
				writeError(w, http.StatusUnauthorized, "missing or wrong bearer token")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

func (s *Server) window(w http.ResponseWriter, r *http.Request) {
	num := func(k string) (time.Time, error) {
		v, err := strconv.ParseInt(r.URL.Query().Get(k), 10, 64)
		if err != nil {
			return time.Time{}, fmt.Errorf("%s: want Unix nanoseconds, got %q", k, r.URL.Query().Get(k))
		}
		return time.Unix(0, v), nil
	}
	start, err := num("start")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	end, err := num("end")
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	now := time.Now()
	switch {
	case !end.After(start):
		err = fmt.Errorf("end %d is not after start %d", end.UnixNano(), start.UnixNano())
	case end.Sub(start) > MaxWindow:
		err = fmt.Errorf("window of %v is longer than %v", end.Sub(start), MaxWindow)
	case start.Sub(now) > MaxLead:
		err = fmt.Errorf("window starts in %v, more than %v ahead", start.Sub(now), MaxLead)
	case now.Sub(start) > LateStart:
		err = fmt.Errorf("window started %v ago: ask before it starts (check the clock offset)", now.Sub(start).Round(time.Millisecond))
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	select {
	case s.slots <- struct{}{}:
		defer func() { <-s.slots }()
	default:
		writeError(w, http.StatusServiceUnavailable, fmt.Sprintf("already measuring %d windows", MaxWindows))
		return
	}
	c, err := s.measure(r.Context(), start, end)
	if err != nil {
		writeError(w, http.StatusServiceUnavailable, err.Error())
		return
	}
	writeJSON(w, http.StatusOK, c)
}

type errorReply struct {
	Error string `json:"error"`
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, errorReply{Error: "agent: " + msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v) // a client gone away is not our error
}
