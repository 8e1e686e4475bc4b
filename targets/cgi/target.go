package cgi

// This file is the deployment: a Host behind the suite's shared net/http
// front, as a targets.Target.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"

	"forkbench/targets"
)

// Config describes a CGI deployment.
type Config struct {
	// Listen is the front's TCP address; "" means 127.0.0.1:0.
	Listen string
	// Host runs the program. It is a pointer because a Host holds its
	// counters and slots and must not be copied once used; the Target
	// closes it on Stop. Required, with Host.Path set.
	Host *Host
	// ErrorLog receives the front's own errors; nil means the log
	// package's standard logger.
	ErrorLog *log.Logger
}

// Target is a CGI deployment: the front and the children it spawns all
// run in, or are reaped by, the calling process.
type Target struct {
	cfg     Config
	front   *targets.Front
	started bool
	stopped bool
}

var _ targets.Target = (*Target)(nil)

// New returns a Target for cfg; nothing starts until Start.
func New(cfg Config) *Target { return &Target{cfg: cfg} }

// Name is "cgi".
func (t *Target) Name() string { return "cgi" }

// Start checks that the program is an executable file, then starts the
// front.
func (t *Target) Start(ctx context.Context) error {
	if t.front != nil {
		return errors.New("cgi: target already started")
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("cgi: start: %w", err)
	}
	h := t.cfg.Host
	if h == nil || h.Path == "" {
		return errors.New("cgi: Config.Host.Path is required")
	}
	fi, err := os.Stat(h.Path)
	if err != nil {
		return fmt.Errorf("cgi: program: %w", err)
	}
	if !fi.Mode().IsRegular() || fi.Mode().Perm()&0o111 == 0 {
		return fmt.Errorf("cgi: program %s is not an executable file", h.Path)
	}
	t.front = &targets.Front{Listen: t.cfg.Listen, Handler: h, ErrorLog: t.cfg.ErrorLog}
	if err := t.front.Start(); err != nil {
		t.front = nil
		return fmt.Errorf("cgi: %w", err)
	}
	t.started = true
	return nil
}

// URL is the front's base URL, "" before Start.
func (t *Target) URL() string {
	if t.front == nil {
		return ""
	}
	return t.front.URL()
}

// PIDs is this process alone: the children are its own and are reaped by
// it, so their CPU time shows in its cutime and cstime once they exit.
// Children still running when a sample is taken are not yet counted there.
func (t *Target) PIDs() []int {
	if !t.started {
		return nil
	}
	return []int{os.Getpid()}
}

// Stop shuts the front down within ctx, then kills the process group of
// any child still running and returns once every child has been reaped,
// even if ctx has expired: a Target leaves no process behind.
func (t *Target) Stop(ctx context.Context) error {
	if t.front == nil || t.stopped {
		return nil
	}
	t.stopped = true
	err := t.front.Stop(ctx)
	if cerr := t.cfg.Host.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("cgi: stop: %w", err)
	}
	return nil
}
