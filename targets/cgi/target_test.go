package cgi

import (
	"context"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"forkbench/targets"
)

func TestTarget(t *testing.T) {
	h := &Host{
		Path:   os.Args[0],
		Env:    []string{childEnv + "=1"},
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	tg := New(Config{Host: h})
	if tg.Name() != "cgi" {
		t.Errorf("Name() = %q; want cgi", tg.Name())
	}
	if tg.URL() != "" || tg.PIDs() != nil {
		t.Errorf("before Start: URL() = %q, PIDs() = %v; want empty", tg.URL(), tg.PIDs())
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := tg.Start(ctx); err != nil {
		t.Fatalf("Start() = %v", err)
	}
	if !strings.HasPrefix(tg.URL(), "http://127.0.0.1:") {
		t.Errorf("URL() = %q; want a loopback URL", tg.URL())
	}
	if got := tg.PIDs(); !slices.Equal(got, []int{os.Getpid()}) {
		t.Errorf("PIDs() = %v; want [%d]", got, os.Getpid())
	}
	got := get(t, tg.URL()+"/ok")
	if got.Status != http.StatusOK || got.Body != "ok\n" {
		t.Errorf("GET /ok = %d %q; want 200 %q", got.Status, got.Body, "ok\n")
	}
	if err := tg.Stop(ctx); err != nil {
		t.Errorf("Stop() = %v", err)
	}
	if err := tg.Stop(ctx); err != nil {
		t.Errorf("second Stop() = %v", err)
	}
	if st := h.Stats(); st.Spawned != 1 || st.Reaped != 1 || st.Running != 0 {
		t.Errorf("Stats() after Stop = %+v; want 1 spawned and reaped", st)
	}
}

func TestTargetStartErrors(t *testing.T) {
	dir := t.TempDir()
	notExec := filepath.Join(dir, "script.cgi")
	if err := os.WriteFile(notExec, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"no host", Config{}, "Host.Path is required"},
		{"missing program", Config{Host: &Host{Path: filepath.Join(dir, "missing")}}, "no such file"},
		{"not executable", Config{Host: &Host{Path: notExec}}, "not an executable file"},
		{"directory", Config{Host: &Host{Path: dir}}, "not an executable file"},
		{"bad listen address", Config{Listen: "256.0.0.1:0", Host: &Host{Path: os.Args[0]}}, "listen"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tg := New(tt.cfg)
			err := tg.Start(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Start() = %v; want an error containing %q", err, tt.want)
			}
			if err := tg.Stop(context.Background()); err != nil {
				t.Errorf("Stop() after a failed Start = %v", err)
			}
		})
	}
}

// TestSlowReaderFreesChild checks that a client that never reads its
// response does not pin a child: the front's WriteTimeout, or else the
// Host's Timeout, fails the relay's write, and the child is killed and
// reaped although it still has output to send.
func TestSlowReaderFreesChild(t *testing.T) {
	tests := []struct {
		name         string
		writeTimeout time.Duration // the front's
		timeout      time.Duration // the host's
		wantAborted  uint64
		wantTimeouts uint64
	}{
		{"front WriteTimeout", 200 * time.Millisecond, time.Minute, 1, 0},
		{"host Timeout", -1, 300 * time.Millisecond, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, _ := newHost(t, func(h *Host) { h.Timeout = tt.timeout })
			done := make(chan struct{})
			front := &targets.Front{
				WriteTimeout: tt.writeTimeout,
				Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					defer close(done) // runs on the abort panic too
					h.ServeHTTP(w, r)
				}),
				ErrorLog: log.New(io.Discard, "", 0),
			}
			if err := front.Start(); err != nil {
				t.Fatal(err)
			}
			defer front.Stop(context.Background())
			c, err := net.Dial("tcp", strings.TrimPrefix(front.URL(), "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := io.WriteString(c, "GET /big HTTP/1.1\r\nHost: x\r\n\r\n"); err != nil {
				t.Fatal(err)
			}
			select { // the client reads nothing
			case <-done:
			case <-time.After(time.Minute):
				t.Fatal("the request was still being served a minute later")
			}
			st := h.Stats()
			if st.Spawned != 1 || st.Reaped != 1 || st.Running != 0 || st.Aborted != tt.wantAborted || st.Timeouts != tt.wantTimeouts {
				t.Errorf("Stats() = %+v; want 1 spawned and reaped, Aborted %d, Timeouts %d", st, tt.wantAborted, tt.wantTimeouts)
			}
		})
	}
}
