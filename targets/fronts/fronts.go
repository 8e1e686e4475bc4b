// Package fronts deploys the sample app, and its Python twin, behind the
// servers people run in production: Apache httpd 2.4 (mpm_event with
// mod_cgid, mod_proxy_fcgi, mod_fcgid, mod_wsgi), nginx (fcgiwrap,
// fastcgi_pass, proxy_pass, uwsgi_pass) and uWSGI, next to the suite's own
// Go front. They answer the question forkbench asks on the servers that
// asked it first.
//
// Each is a targets.Target like the others: Start writes the server's
// configuration from a template into a private temporary directory
// (loopback high port chosen free, foreground, its own pid and error log,
// access log off, keep-alive on), starts the process tree pinned where the
// caller is pinned (or to Config.CPUs), and returns once GET /plaintext
// answers 200. Stop asks each process to stop (Apache: graceful-stop,
// SIGWINCH; the others SIGTERM), kills what is left of its process group
// after a grace period, reaps, and removes the directory. A server that is
// not installed fails Start with an error wrapping ErrMissing that names
// the Debian package to install.
//
// When the suite runs as root, the servers' workers and the processes the
// suite starts for them run as an unprivileged user (www-data, else
// nobody), as they would in production (Apache refuses to serve as root);
// files that user cannot reach (the app binary, the database, the Python
// app) are copied into the temporary directory first.
package fronts

import (
	"errors"
	"fmt"
	"log"
	"slices"
	"time"

	"forkbench/targets"
)

// Config is what every front needs; each reads the fields that concern it.
type Config struct {
	// AppBin is the sample app binary (cmd/sampleapp): the CGI program,
	// the FastCGI daemon and the HTTP server behind the fronts.
	AppBin string
	// DBPath is the seeded SQLite database; the app reads it from
	// FORKBENCH_DB, which every front passes on.
	DBPath string
	// PythonDir holds the Python twin, forkbench_app.py (WSGI
	// "application") and forkbench_cgi.py (an executable CGI program);
	// "" means FindPythonDir.
	PythonDir string
	// Listen is the front's address, a loopback HOST:PORT; "" means a free
	// port on 127.0.0.1.
	Listen string
	// CPUs pins every process started to these CPUs; empty means they
	// inherit the caller's affinity (bench run pins `bench serve`).
	CPUs []int
	// LogDir receives the servers' error logs, kept after Stop; "" means
	// the temporary directory, removed by Stop (Logs lists them either
	// way, and a failed Start quotes their ends).
	LogDir string
	// StartTimeout bounds Start when its context has no deadline; 0 means
	// 30 s.
	StartTimeout time.Duration
	// ErrorLog receives notes (files staged for the worker user, a log
	// that could not be read); nil means the log package's standard logger.
	ErrorLog *log.Logger
}

// ErrMissing is wrapped by the error of a target whose server, module or
// interpreter is not installed, so a runner can skip it with one line.
var ErrMissing = errors.New("fronts: not installed")

// MissingError says what is missing and which Debian package provides it.
type MissingError struct {
	Target  string
	Path    string // the file looked for
	Package string // the Debian package that installs it
}

func (e *MissingError) Error() string {
	return fmt.Sprintf("fronts: %s needs %s (Debian package %s; `make servers` installs it)", e.Target, e.Path, e.Package)
}

// Is makes errors.Is(err, ErrMissing) and errors.Is(err,
// targets.ErrUnavailable) true.
func (e *MissingError) Is(target error) bool {
	return target == ErrMissing || target == targets.ErrUnavailable
}

// Front is the HTTP server facing the client.
type Front string

// The fronts.
const (
	FrontGo     Front = "go" // the suite's own net/http front
	FrontApache Front = "apache"
	FrontNginx  Front = "nginx"
	// FrontLighttpd is lighttpd 1.4, one event-loop process.
	FrontLighttpd Front = "lighttpd"
)

// Protocol is how the front reaches the application.
type Protocol string

// The protocols.
const (
	// ProtoCGI: a new process per request.
	ProtoCGI Protocol = "cgi"
	// ProtoFastCGI: persistent processes over FastCGI.
	ProtoFastCGI Protocol = "fastcgi"
	// ProtoInProcess: the application runs inside the front's process.
	ProtoInProcess Protocol = "in-process"
	// ProtoHTTPProxy: the front proxies HTTP to a persistent app server.
	ProtoHTTPProxy Protocol = "http-proxy"
	// ProtoUWSGI: nginx speaks uWSGI's binary protocol to uWSGI.
	ProtoUWSGI Protocol = "uwsgi"
	// ProtoWSGIDaemon: mod_wsgi's daemon mode, Apache to persistent
	// Python processes over mod_wsgi's own socket protocol.
	ProtoWSGIDaemon Protocol = "wsgi-daemon"
)

// Language is the application's language.
type Language string

// The languages.
const (
	LangGo     Language = "go"
	LangPython Language = "python"
)

// Descriptor says what a target is, so that reports can group rows by
// front, protocol or language.
type Descriptor struct {
	Name     string
	Front    Front
	Protocol Protocol
	Language Language
	// Summary is one line on how it is deployed.
	Summary string
}

// descriptors lists every target the suite knows, the Go trio of
// targets/catalog included, in the order reports show them.
var descriptors = []Descriptor{
	{"embedded", FrontGo, ProtoInProcess, LangGo, "the app handler inside the Go front"},
	{"fcgi", FrontGo, ProtoFastCGI, LangGo, "Go front, pooled kept connections to the app's net/http/fcgi daemon"},
	{"cgi", FrontGo, ProtoCGI, LangGo, "Go front execs the app binary per request"},
	{"apache-cgi", FrontApache, ProtoCGI, LangGo, "Apache mpm_event + mod_cgid execs the app binary per request"},
	{"apache-fcgi", FrontApache, ProtoFastCGI, LangGo, "Apache mod_proxy_fcgi (enablereuse=on) to the app's FastCGI daemon"},
	{"apache-fcgid", FrontApache, ProtoFastCGI, LangGo, "Apache mod_fcgid spawns a pool of app processes, socket on fd 0"},
	{"nginx-fcgiwrap", FrontNginx, ProtoCGI, LangGo, "nginx fastcgi_pass to fcgiwrap, which execs the app binary per request"},
	{"nginx-fcgi", FrontNginx, ProtoFastCGI, LangGo, "nginx fastcgi_pass, fastcgi_keep_conn + upstream keepalive, to the app's FastCGI daemon"},
	{"nginx-proxy", FrontNginx, ProtoHTTPProxy, LangGo, "nginx proxy_pass, upstream keepalive, to the app serving HTTP"},
	{"lighttpd-cgi", FrontLighttpd, ProtoCGI, LangGo, "lighttpd mod_cgi execs the app binary per request"},
	{"lighttpd-fcgi", FrontLighttpd, ProtoFastCGI, LangGo, "lighttpd mod_fastcgi to the app's FastCGI daemon, a connection per request (lighttpd 1.4 keeps none)"},
	{"py-cgi", FrontGo, ProtoCGI, LangPython, "Go front execs the Python twin (wsgiref CGIHandler) per request"},
	{"apache-py-cgi", FrontApache, ProtoCGI, LangPython, "Apache mod_cgid execs the Python twin per request"},
	{"apache-wsgi", FrontApache, ProtoInProcess, LangPython, "Apache mod_wsgi, embedded mode"},
	{"apache-wsgi-daemon", FrontApache, ProtoWSGIDaemon, LangPython, "Apache mod_wsgi, daemon mode (WSGIDaemonProcess)"},
	{"py-fcgi", FrontGo, ProtoFastCGI, LangPython, "Go front to uWSGI's FastCGI socket (python3 plugin)"},
	{"nginx-uwsgi", FrontNginx, ProtoUWSGI, LangPython, "nginx uwsgi_pass to uWSGI (python3 plugin)"},
}

// Descriptors returns every target's descriptor, the Go trio first.
func Descriptors() []Descriptor { return slices.Clone(descriptors) }

// Describe returns the descriptor of the target named name.
func Describe(name string) (Descriptor, bool) {
	i := slices.IndexFunc(descriptors, func(d Descriptor) bool { return d.Name == name })
	if i < 0 {
		return Descriptor{}, false
	}
	return descriptors[i], true
}

// Names lists the targets this package builds (every descriptor but the
// Go trio, which targets/catalog builds itself).
func Names() []string {
	var names []string
	for _, d := range descriptors[3:] {
		names = append(names, d.Name)
	}
	return names
}

// Known reports whether New builds the target named name.
func Known(name string) bool { return slices.Contains(Names(), name) }
