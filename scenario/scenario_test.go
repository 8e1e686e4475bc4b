package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBuiltins(t *testing.T) {
	for _, name := range []string{"quick", "nightly"} {
		t.Run(name, func(t *testing.T) {
			s, err := Builtin(name)
			if err != nil {
				t.Fatal(err)
			}
			if s.Name != name {
				t.Errorf("Name = %q; want %q", s.Name, name)
			}
			if len(s.Targets) != 3 || s.Rounds < 3 {
				t.Errorf("Builtin(%s) = %d targets, %d rounds; want 3, ≥3", name, len(s.Targets), s.Rounds)
			}
		})
	}
	if _, err := Builtin("nope"); !errors.Is(err, ErrBadScenario) {
		t.Errorf("Builtin(nope) error = %v; want ErrBadScenario", err)
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, content string
		wantErr       string // "" means success
	}{
		{"override", "rate = 250\nendpoints = [\"json\"]\n", ""},
		{"malformed", "rate = = 3", "scenario"},
		{"unknown key", "rte = 3", `unknown key "rte"`},
		{"unknown endpoint", `endpoints = ["nope"]`, `unknown endpoint "nope"`},
		{"unknown model", `models = ["fast"]`, `unknown model "fast"`},
		{"bad duration", `duration = "ten"`, "scenario"},
		{"zero rounds", "rounds = 0", "rounds must be ≥ 1"},
		{"sweep without slo", "models = [\"sweep\"]\nsweep_factors = [0.5]\nslo_p99 = \"0s\"", "slo_p99"},
		{"unknown engine", `engine = "wrk2"`, `unknown engine "wrk2"`},
		{"unknown arrivals", `arrivals = "bursty"`, `unknown arrivals "bursty"`},
		{"poisson on vegeta", "engine = \"vegeta\"\narrivals = \"poisson\"", "poisson arrivals need the epoll engine"},
		{"epoll on nethttp", "engine = \"epoll\"\ntransport = \"nethttp\"", "the epoll engine has its own client"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := filepath.Join(dir, strings.ReplaceAll(c.name, " ", "_")+".toml")
			if err := os.WriteFile(p, []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
			s, err := Load(p)
			if c.wantErr == "" {
				if err != nil {
					t.Fatalf("Load = %v; want success", err)
				}
				if s.Rate != 250 || len(s.Endpoints) != 1 || s.Rounds != 3 {
					t.Errorf("Load = rate %v endpoints %v rounds %d; want 250 [json] 3 (rest from quick)", s.Rate, s.Endpoints, s.Rounds)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), c.wantErr) || !errors.Is(err, ErrBadScenario) {
				t.Fatalf("Load error = %v; want one containing %q", err, c.wantErr)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q spans several lines; want one", err)
			}
		})
	}
	if _, err := Load(filepath.Join(dir, "missing.toml")); err == nil {
		t.Error("Load(missing) succeeded")
	}
}

func TestEndpoint(t *testing.T) {
	s, _ := Builtin("quick")
	s.EchoBytes = 100
	e, err := s.Endpoint("echo")
	if err != nil {
		t.Fatal(err)
	}
	if e.Method != "POST" || len(e.Body) != 100 || e.Path != "/echo" {
		t.Errorf("Endpoint(echo) = %s %s %d bytes; want POST /echo 100 bytes", e.Method, e.Path, len(e.Body))
	}
	if _, err := s.Endpoint("nope"); err == nil {
		t.Error("Endpoint(nope) succeeded")
	}
	for _, n := range EndpointNames() {
		if _, err := s.Endpoint(n); err != nil {
			t.Errorf("Endpoint(%s) = %v", n, err)
		}
	}
}

// TestSeed: the seed scenario names the whole matrix of issue 10, and
// lighttpd, once each, with an open rate below Python CGI's capacity.
func TestSeed(t *testing.T) {
	s, err := Builtin("seed")
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, n := range s.Targets {
		if seen[n] {
			t.Errorf("target %s named twice", n)
		}
		seen[n] = true
	}
	if len(seen) != 17 || !seen["py-cgi"] || !seen["nginx-uwsgi"] || !seen["embedded"] || !seen["lighttpd-cgi"] {
		t.Errorf("targets = %v; want the 17 of the matrix", s.Targets)
	}
	if s.Rate > 3 {
		t.Errorf("open rate %g req/s; want ≤ 3 (Python CGI's capacity)", s.Rate)
	}
}
