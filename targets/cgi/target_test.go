package cgi

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
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
	if got.status != http.StatusOK || got.body != "ok\n" {
		t.Errorf("GET /ok = %d %q; want 200 %q", got.status, got.body, "ok\n")
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
