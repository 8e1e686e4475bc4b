package fronts

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"forkbench/targets/cgi"
	"forkbench/targets/fcgi"
)

// The Python twin's deployments: behind uWSGI (uwsgi.ini.tmpl) and behind
// the suite's own Go fronts.

// uwsgiData fills templates/uwsgi.ini.tmpl.
type uwsgiData struct {
	Name, Dir, PyDir, DB string
	Procs                int
	// SocketOption is "fastcgi-socket" or "uwsgi-socket".
	SocketOption, Socket string
}

const (
	python3Bin   = "/usr/bin/python3"
	uwsgiBin     = "/usr/bin/uwsgi"
	uwsgiPlugin  = "/usr/lib/uwsgi/plugins/python3_plugin.so"
	uwsgiWorkers = 4 // as a 4-worker PHP-FPM pool; Python's GIL makes threads moot
)

// stagePython finds the Python twin and the database and stages both for
// the worker user; python3 must be installed.
func (s *Server) stagePython() (dir, db string, err error) {
	if _, err := s.require("python3", python3Bin); err != nil {
		return "", "", err
	}
	dir = s.cfg.PythonDir
	if dir == "" {
		if dir, err = FindPythonDir(); err != nil {
			return "", "", err
		}
	}
	if dir, err = filepath.Abs(dir); err != nil {
		return "", "", fmt.Errorf("fronts: %w", err)
	}
	if _, err := os.Stat(filepath.Join(dir, pyApp)); err != nil {
		return "", "", fmt.Errorf("fronts: %s: the Python twin: %w", s.desc.Name, err)
	}
	if dir, err = s.stageDir(dir); err != nil {
		return "", "", err
	}
	db, err = s.stage(s.cfg.DBPath, 4)
	return dir, db, err
}

// startUWSGI starts uWSGI (python3 plugin) on a unix socket speaking
// proto ("fastcgi" or "uwsgi") and returns the socket.
func (s *Server) startUWSGI(ctx context.Context, proto string) (string, error) {
	bin, err := s.require("uwsgi", uwsgiBin)
	if err != nil {
		return "", err
	}
	if _, err := s.require("uwsgi-plugin-python3", uwsgiPlugin); err != nil {
		return "", err
	}
	py, db, err := s.stagePython()
	if err != nil {
		return "", err
	}
	sock := s.path("uwsgi.sock")
	ini, err := s.write("uwsgi.ini", uwsgiData{
		Name: s.desc.Name, Dir: s.dir, PyDir: py, DB: db,
		Procs: uwsgiWorkers, SocketOption: proto + "-socket", Socket: sock,
	})
	if err != nil {
		return "", err
	}
	// uWSGI logs to stderr, into uwsgi.out.log (opened by this process, so
	// that a LogDir the worker user cannot enter still works).
	_, err = s.run(ctx, procSpec{
		name: "uwsgi", path: bin, args: []string{"--ini", ini},
		env: env("FORKBENCH_DB=" + db), asWorker: true, readyUnix: sock,
	})
	return sock, err
}

// planPyCGI runs the Python twin's CGI program behind the suite's own CGI
// front (targets/cgi), as `cgi --cgi-bin forkbench_cgi.py` would.
func planPyCGI(ctx context.Context, s *Server) error {
	s.worker = nil // the children run as this process: nothing to stage
	py, db, err := s.stagePython()
	if err != nil {
		return err
	}
	logger := slog.Default()
	if s.cfg.ErrorLog != nil {
		logger = slog.New(slog.NewTextHandler(s.cfg.ErrorLog.Writer(), nil))
	}
	s.inner = cgi.New(cgi.Config{
		Listen:   s.cfg.Listen,
		ErrorLog: s.cfg.ErrorLog,
		Host: &cgi.Host{
			Path:   filepath.Join(py, pyCGI),
			Env:    env("FORKBENCH_DB=" + db), // PATH for its #!/usr/bin/env python3
			Logger: logger,
		},
	})
	return s.inner.Start(ctx)
}

// planPyFCGI puts the suite's own FastCGI front (targets/fcgi, an external
// daemon) before uWSGI's FastCGI socket. uWSGI closes the connection after
// every request whatever FCGI_KEEP_CONN says, so the front opens one per
// request rather than reuse connections uWSGI is about to close.
func planPyFCGI(ctx context.Context, s *Server) error {
	sock, err := s.startUWSGI(ctx, "fastcgi")
	if err != nil {
		return err
	}
	s.inner = fcgi.New(fcgi.Config{
		Listen:   s.cfg.Listen,
		Daemon:   fcgi.DaemonConfig{Network: "unix", Address: sock},
		KeepConn: false,
		ErrorLog: s.cfg.ErrorLog,
	})
	return s.inner.Start(ctx)
}
