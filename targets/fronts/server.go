package fronts

import (
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"text/template"
	"time"

	"forkbench/targets"
)

// Server is a deployment behind a real server (or the Python twin behind
// the suite's own front): a temporary directory with the configuration,
// the processes started from it, and possibly one of the suite's own
// fronts (py-cgi, py-fcgi).
type Server struct {
	desc Descriptor
	cfg  Config
	// plan checks what the deployment needs, writes its configuration and
	// starts its processes; Start then waits for /plaintext.
	plan func(ctx context.Context, s *Server) error

	dir     string  // private temporary directory, removed by Stop
	logDir  string  // where logs go: dir, or a directory under Config.LogDir
	worker  *worker // nil unless running as root
	port    int
	url     string
	procs   []*proc
	files   []*os.File
	logs    []string
	inner   targets.Target // the suite's own front, for py-cgi and py-fcgi
	started bool

	stopOnce sync.Once
	stopErr  error
}

var _ targets.Target = (*Server)(nil)

// New returns an unstarted target named name (one of Names).
func New(name string, cfg Config) (*Server, error) {
	d, ok := Describe(name)
	plan := plans[name]
	if !ok || plan == nil {
		return nil, fmt.Errorf("fronts: unknown target %q (known: %s)", name, strings.Join(Names(), ", "))
	}
	return &Server{desc: d, cfg: cfg, plan: plan}, nil
}

// plans maps each name to how it is deployed (apache.go, nginx.go,
// lighttpd.go, python.go).
var plans = map[string]func(context.Context, *Server) error{
	"apache-cgi":         planApacheCGI,
	"apache-fcgi":        planApacheFCGI,
	"apache-fcgid":       planApacheFCGID,
	"apache-py-cgi":      planApachePyCGI,
	"apache-wsgi":        planApacheWSGI,
	"apache-wsgi-daemon": planApacheWSGIDaemon,
	"nginx-fcgiwrap":     planNginxFcgiwrap,
	"nginx-fcgi":         planNginxFCGI,
	"nginx-proxy":        planNginxProxy,
	"nginx-uwsgi":        planNginxUWSGI,
	"lighttpd-cgi":       planLighttpdCGI,
	"lighttpd-fcgi":      planLighttpdFCGI,
	"py-cgi":             planPyCGI,
	"py-fcgi":            planPyFCGI,
}

// Name is the target's name, e.g. "apache-cgi".
func (s *Server) Name() string { return s.desc.Name }

// Descriptor says what the target is.
func (s *Server) Descriptor() Descriptor { return s.desc }

// URL is the front's base URL, valid after Start.
func (s *Server) URL() string { return s.url }

// Dir is the temporary directory holding the configuration, "" before
// Start and after Stop.
func (s *Server) Dir() string { return s.dir }

// Logs lists the log files the servers write (error logs, and each
// process's stdout and stderr). They outlive Stop only under
// Config.LogDir.
func (s *Server) Logs() []string { return append([]string(nil), s.logs...) }

// PIDs are the roots of the process trees the target started, and this
// process when one of the suite's own fronts is part of it.
func (s *Server) PIDs() []int {
	var pids []int
	if s.inner != nil {
		pids = append(pids, s.inner.PIDs()...)
	}
	for _, p := range s.procs {
		if !p.exited() {
			pids = append(pids, p.cmd.Process.Pid)
		}
	}
	return pids
}

// Start writes the configuration, starts the processes and returns once
// GET /plaintext answers 200.
func (s *Server) Start(ctx context.Context) error {
	if s.started {
		return fmt.Errorf("fronts: %s already started", s.desc.Name)
	}
	s.started = true
	if _, ok := ctx.Deadline(); !ok {
		limit := s.cfg.StartTimeout
		if limit <= 0 {
			limit = 30 * time.Second
		}
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, limit)
		defer cancel()
	}
	err := s.start(ctx)
	if err != nil {
		err = fmt.Errorf("%w%s", err, s.logTails())
		_ = s.Stop(context.Background())
	}
	return err
}

func (s *Server) start(ctx context.Context) error {
	var err error
	if s.worker, err = currentWorker(); err != nil {
		return err
	}
	if s.dir, err = os.MkdirTemp("", "forkbench-"+s.desc.Name+"-"); err != nil {
		return fmt.Errorf("fronts: %w", err)
	}
	if err := s.worker.own(s.dir); err != nil {
		return err
	}
	s.logDir = s.dir
	if s.cfg.LogDir != "" {
		s.logDir = filepath.Join(s.cfg.LogDir, filepath.Base(s.dir))
		if err := os.MkdirAll(s.logDir, 0o755); err != nil {
			return fmt.Errorf("fronts: %w", err)
		}
		if err := s.worker.own(s.logDir); err != nil {
			return err
		}
	}
	if s.port, err = s.listenPort(); err != nil {
		return err
	}
	s.url = "http://127.0.0.1:" + strconv.Itoa(s.port)
	if err := s.plan(ctx, s); err != nil {
		return err
	}
	if s.inner != nil {
		s.url = s.inner.URL()
	}
	return s.waitHTTP(ctx)
}

// listenPort is Config.Listen's port, or a free loopback port: bound and
// released, so another program may take it before the server binds it
// (Start then fails, saying so in the server's log).
func (s *Server) listenPort() (int, error) {
	if s.cfg.Listen != "" {
		host, port, err := net.SplitHostPort(s.cfg.Listen)
		if err != nil || host != "127.0.0.1" {
			return 0, fmt.Errorf("fronts: listen address %q: want 127.0.0.1:PORT", s.cfg.Listen)
		}
		if n, err := strconv.Atoi(port); err == nil && n > 0 {
			return n, nil
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("fronts: free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// path returns name inside the temporary directory.
func (s *Server) path(name string) string { return filepath.Join(s.dir, name) }

// logPath returns a log file name in the log directory and lists it.
func (s *Server) logPath(name string) string {
	p := filepath.Join(s.logDir, name)
	s.logs = append(s.logs, p)
	return p
}

// mkdir makes directories inside the temporary directory that the worker
// user may write (server temp files, IPC sockets).
func (s *Server) mkdir(names ...string) error {
	for _, n := range names {
		if err := os.Mkdir(s.path(n), 0o755); err != nil {
			return fmt.Errorf("fronts: %w", err)
		}
		if err := s.worker.own(s.path(n)); err != nil {
			return err
		}
	}
	return nil
}

// templateFS holds the servers' configuration templates: templates/NAME.tmpl
// renders the file NAME.
//
//go:embed templates/*.tmpl
var templateFS embed.FS

var templates = template.Must(template.ParseFS(templateFS, "templates/*.tmpl"))

// write renders templates/name.tmpl with data into the file name in the
// temporary directory and returns its path.
func (s *Server) write(name string, data any) (string, error) {
	tmpl := templates.Lookup(name + ".tmpl")
	if tmpl == nil {
		return "", fmt.Errorf("fronts: no template for %s", name)
	}
	var b bytes.Buffer
	if err := tmpl.Execute(&b, data); err != nil {
		return "", fmt.Errorf("fronts: %s: %w", name, err)
	}
	p := s.path(name)
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		return "", fmt.Errorf("fronts: %w", err)
	}
	return p, nil
}

// run starts one process with its output in its own log file and returns
// the address it announced, if any.
func (s *Server) run(ctx context.Context, spec procSpec) (string, error) {
	f, err := os.OpenFile(s.logPath(spec.name+".out.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return "", fmt.Errorf("fronts: %w", err)
	}
	s.files = append(s.files, f)
	p, addr, err := startProc(ctx, spec, f, s.cfg.CPUs, s.worker.credential())
	if p != nil {
		s.procs = append(s.procs, p)
	}
	return addr, err
}

// env is the environment of a started process: a fixed PATH and locale
// (not the caller's, so runs do not depend on the shell) plus extra.
func env(extra ...string) []string {
	return append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C.UTF-8"}, extra...)
}

var dialer = net.Dialer{Timeout: time.Second}

// poll calls try with a growing back-off until it succeeds, dead reports
// an error (a process exited), or ctx ends.
func poll(ctx context.Context, dead func() error, try func(context.Context) error, what string) error {
	delay := time.Millisecond
	for {
		err := try(ctx)
		if err == nil {
			return nil
		}
		if derr := dead(); derr != nil {
			return derr
		}
		t := time.NewTimer(delay)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("fronts: waiting for %s: %w (last try: %v)", what, ctx.Err(), err)
		case <-t.C:
		}
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// anyExited is the dead check of the whole deployment.
func (s *Server) anyExited() error {
	for _, p := range s.procs {
		if p.exited() {
			return fmt.Errorf("fronts: %s exited during start-up: %v", p.spec.name, p.err)
		}
	}
	return nil
}

// waitHTTP waits until GET /plaintext answers 200: the whole chain, front
// to application, is up.
func (s *Server) waitHTTP(ctx context.Context) error {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{DisableKeepAlives: true}}
	return poll(ctx, s.anyExited, func(ctx context.Context) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, s.url+"/plaintext", nil)
		if err != nil {
			return err
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /plaintext: %s", resp.Status)
		}
		return nil
	}, s.desc.Name+" to answer GET /plaintext")
}

// Stop stops the suite's own front if any, then the processes in reverse
// order of start (the server facing the client first), and removes the
// temporary directory. It is safe after a failed Start and more than once.
func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() { s.stopErr = s.stop(ctx) })
	return s.stopErr
}

func (s *Server) stop(ctx context.Context) error {
	var err error
	if s.inner != nil {
		err = s.inner.Stop(ctx)
	}
	for i := len(s.procs) - 1; i >= 0; i-- {
		err = errors.Join(err, s.procs[i].stop(ctx))
	}
	for _, f := range s.files {
		f.Close()
	}
	if s.dir != "" {
		err = errors.Join(err, os.RemoveAll(s.dir))
		s.dir = ""
	}
	return err
}

// logTails quotes the last lines of every non-empty log, for the error of
// a failed Start: the server's own words on why it did not come up.
func (s *Server) logTails() string {
	var b strings.Builder
	for _, p := range s.logs {
		data, err := os.ReadFile(p)
		if err != nil || len(bytes.TrimSpace(data)) == 0 {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) > 5 {
			lines = lines[len(lines)-5:]
		}
		fmt.Fprintf(&b, "\n  %s:\n    %s", filepath.Base(p), strings.Join(lines, "\n    "))
	}
	return b.String()
}

func (s *Server) logf(format string, args ...any) {
	if s.cfg.ErrorLog != nil {
		s.cfg.ErrorLog.Printf(format, args...)
		return
	}
	log.Printf(format, args...)
}
