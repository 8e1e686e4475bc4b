package fronts

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"strings"
)

// nginxData fills templates/nginx.conf.tmpl.
type nginxData struct {
	Name, Dir, ErrorLog string
	Port, Workers       int
	User, Group         string // "" unless running as root
	// Pass is "fastcgi", "uwsgi" or "proxy"; Upstream the backend
	// ("unix:PATH" or "HOST:PORT"); Keepalive the idle connections kept
	// to it per worker (0: a connection per request).
	Pass, Upstream string
	Keepalive      int
	// Program is the CGI program fcgiwrap runs (SCRIPT_FILENAME), with
	// the database it is given (FORKBENCH_DB).
	Program, DB string
}

const (
	nginxBin    = "/usr/sbin/nginx"
	fcgiwrapBin = "/usr/sbin/fcgiwrap"
	// fcgiwrapProcs is fcgiwrap's prefork count: CGI requests served at
	// once (the reference figures use 8).
	fcgiwrapProcs = 8
	// upstreamKeepalive is the idle connections each nginx worker keeps to
	// a persistent backend, as a tuned site would.
	upstreamKeepalive = 32
)

// startNginx writes nginx.conf and runs nginx in the foreground, one
// worker per CPU the target may use.
func (s *Server) startNginx(ctx context.Context, d nginxData) error {
	bin, err := s.require("nginx", nginxBin)
	if err != nil {
		return err
	}
	d.Name, d.Dir, d.Port = s.desc.Name, s.dir, s.port
	d.ErrorLog = s.logPath("nginx-error.log")
	d.Workers = runtime.NumCPU() // follows the affinity mask this process inherited
	if len(s.cfg.CPUs) > 0 {
		d.Workers = len(s.cfg.CPUs)
	}
	if s.worker != nil {
		d.User, d.Group = s.worker.user, s.worker.group
	}
	if err := s.mkdir("tmp"); err != nil {
		return err
	}
	conf, err := s.write("nginx.conf", d)
	if err != nil {
		return err
	}
	// -e: the error log before the configuration is read (else nginx
	// opens /var/log/nginx/error.log); -p: relative paths resolve here.
	_, err = s.run(ctx, procSpec{
		name: "nginx", path: bin,
		args: []string{"-e", d.ErrorLog, "-p", s.dir, "-c", conf},
		env:  env(),
	})
	return err
}

func planNginxFcgiwrap(ctx context.Context, s *Server) error {
	wrap, err := s.require("fcgiwrap", fcgiwrapBin)
	if err != nil {
		return err
	}
	bin, db, err := s.stageApp()
	if err != nil {
		return err
	}
	sock := s.path("fcgiwrap.sock")
	// -p restricts fcgiwrap to the one program.
	if _, err := s.run(ctx, procSpec{
		name: "fcgiwrap", path: wrap,
		args: []string{"-c", strconv.Itoa(fcgiwrapProcs), "-s", "unix:" + sock, "-p", bin},
		env:  env(), asWorker: true, readyUnix: sock,
	}); err != nil {
		return err
	}
	return s.startNginx(ctx, nginxData{Pass: "fastcgi", Upstream: "unix:" + sock, Program: bin, DB: db})
}

func planNginxFCGI(ctx context.Context, s *Server) error {
	if _, err := s.require("nginx", nginxBin); err != nil {
		return err
	}
	sock, _, err := s.startDaemon(ctx)
	if err != nil {
		return err
	}
	return s.startNginx(ctx, nginxData{Pass: "fastcgi", Upstream: "unix:" + sock, Keepalive: upstreamKeepalive})
}

func planNginxProxy(ctx context.Context, s *Server) error {
	if _, err := s.require("nginx", nginxBin); err != nil {
		return err
	}
	bin, db, err := s.stageApp()
	if err != nil {
		return err
	}
	addr, err := s.run(ctx, procSpec{
		name: "sampleapp", path: bin, args: []string{"-http", "127.0.0.1:0"},
		env: env("FORKBENCH_DB=" + db), asWorker: true, announce: true,
	})
	if err != nil {
		return err
	}
	hostPort, ok := strings.CutPrefix(addr, "http://")
	if !ok {
		return fmt.Errorf("fronts: sampleapp -http announced %q; want http://HOST:PORT", addr)
	}
	return s.startNginx(ctx, nginxData{Pass: "proxy", Upstream: hostPort, Keepalive: upstreamKeepalive})
}

func planNginxUWSGI(ctx context.Context, s *Server) error {
	if _, err := s.require("nginx", nginxBin); err != nil {
		return err
	}
	sock, err := s.startUWSGI(ctx, "uwsgi")
	if err != nil {
		return err
	}
	return s.startNginx(ctx, nginxData{Pass: "uwsgi", Upstream: "unix:" + sock})
}
