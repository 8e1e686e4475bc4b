package fronts

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
)

// apacheData fills templates/apache.conf.tmpl.
type apacheData struct {
	Name, Dir, ErrorLog, ModDir string
	Port                        int
	User, Group                 string // "" unless running as root
	// Handler is "cgi" (mod_cgid), "proxy-fcgi", "fcgid", "wsgi" or
	// "wsgi-daemon".
	Handler             string
	Program, ProgramDir string // the CGI program or mod_fcgid's app
	Socket              string // the FastCGI daemon's socket
	PyDir               string // the Python twin
	DB                  string
	Procs, Threads      int // mod_fcgid's pool; mod_wsgi's daemon processes
}

// Debian's paths (the suite's machines are Debian).
const (
	apacheBin    = "/usr/sbin/apache2"
	apacheModDir = "/usr/lib/apache2/modules"
)

// Pool sizes, fixed so runs compare: mod_fcgid's app processes as many as
// the fcgiwrap workers of nginx-fcgiwrap; mod_wsgi's daemon two processes
// of 15 threads (mod_wsgi's default thread count).
const (
	fcgidProcs       = 8
	wsgiDaemonProcs  = 2
	wsgiDaemonThread = 15
)

// startApache checks the binary and module, writes apache.conf and runs
// httpd in the foreground; the caller fills the handler's fields of d.
func (s *Server) startApache(ctx context.Context, d apacheData, module, pkg string) error {
	bin, err := s.require("apache2", apacheBin)
	if err != nil {
		return err
	}
	if _, err := s.require(pkg, filepath.Join(apacheModDir, module)); err != nil {
		return err
	}
	d.Name, d.Dir, d.ModDir, d.Port = s.desc.Name, s.dir, apacheModDir, s.port
	d.ErrorLog = s.logPath("apache-error.log")
	if s.worker != nil {
		d.User, d.Group = s.worker.user, s.worker.group
	}
	if d.Program != "" {
		d.ProgramDir = filepath.Dir(d.Program)
	}
	if err := s.mkdir("htdocs", "fcgid"); err != nil {
		return err
	}
	conf, err := s.write("apache.conf", d)
	if err != nil {
		return err
	}
	_, err = s.run(ctx, procSpec{
		name: "apache2",
		path: bin,
		args: []string{"-f", conf, "-DFOREGROUND"},
		// mod_wsgi's Python reads os.environ, inherited from here.
		env:  env("FORKBENCH_DB=" + d.DB),
		stop: syscall.SIGWINCH, // graceful-stop
	})
	return err
}

// stageApp stages the app binary and the database for the worker user.
func (s *Server) stageApp() (bin, db string, err error) {
	if bin, err = s.stage(s.cfg.AppBin, 5); err != nil {
		return "", "", err
	}
	db, err = s.stage(s.cfg.DBPath, 4)
	return bin, db, err
}

func planApacheCGI(ctx context.Context, s *Server) error {
	bin, db, err := s.stageApp()
	if err != nil {
		return err
	}
	return s.startApache(ctx, apacheData{Handler: "cgi", Program: bin, DB: db}, "mod_cgid.so", "apache2")
}

func planApacheFCGID(ctx context.Context, s *Server) error {
	bin, db, err := s.stageApp()
	if err != nil {
		return err
	}
	return s.startApache(ctx, apacheData{Handler: "fcgid", Program: bin, DB: db, Procs: fcgidProcs}, "mod_fcgid.so", "libapache2-mod-fcgid")
}

func planApacheFCGI(ctx context.Context, s *Server) error {
	if _, err := s.require("apache2", filepath.Join(apacheModDir, "mod_proxy_fcgi.so")); err != nil {
		return err
	}
	sock, db, err := s.startDaemon(ctx)
	if err != nil {
		return err
	}
	return s.startApache(ctx, apacheData{Handler: "proxy-fcgi", Socket: sock, DB: db}, "mod_proxy_fcgi.so", "apache2")
}

// startDaemon starts the sample app's FastCGI daemon on a unix socket in
// the temporary directory, as the worker user so the front's workers may
// connect, and returns the socket and the database it reads.
func (s *Server) startDaemon(ctx context.Context) (sock, db string, err error) {
	bin, db, err := s.stageApp()
	if err != nil {
		return "", "", err
	}
	sock = s.path("app.sock")
	_, err = s.run(ctx, procSpec{
		name: "sampleapp", path: bin, args: []string{"-fcgi", "unix:" + sock},
		env: env("FORKBENCH_DB=" + db), asWorker: true, announce: true, readyUnix: sock,
	})
	return sock, db, err
}

func planApachePyCGI(ctx context.Context, s *Server) error {
	py, db, err := s.stagePython()
	if err != nil {
		return err
	}
	prog := filepath.Join(py, pyCGI)
	if fi, err := os.Stat(prog); err != nil || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("fronts: %s: %s is not an executable file", s.desc.Name, prog)
	}
	return s.startApache(ctx, apacheData{Handler: "cgi", Program: prog, DB: db}, "mod_cgid.so", "apache2")
}

func planApacheWSGI(ctx context.Context, s *Server) error {
	py, db, err := s.stagePython()
	if err != nil {
		return err
	}
	return s.startApache(ctx, apacheData{Handler: "wsgi", PyDir: py, DB: db}, "mod_wsgi.so", "libapache2-mod-wsgi-py3")
}

func planApacheWSGIDaemon(ctx context.Context, s *Server) error {
	py, db, err := s.stagePython()
	if err != nil {
		return err
	}
	return s.startApache(ctx, apacheData{Handler: "wsgi-daemon", PyDir: py, DB: db, Procs: wsgiDaemonProcs, Threads: wsgiDaemonThread},
		"mod_wsgi.so", "libapache2-mod-wsgi-py3")
}
