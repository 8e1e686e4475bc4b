package fronts

import "context"

// lighttpdData fills templates/lighttpd.conf.tmpl.
type lighttpdData struct {
	Name, Dir   string
	Port        int
	User, Group string // "" unless running as root
	// Program is the CGI program mod_cgi runs for every URL (its path as
	// PATH_INFO), with the database it is given; Socket is the FastCGI
	// daemon's socket mod_fastcgi connects to. One of the two is set.
	Program, DB string
	Socket      string
}

const lighttpdBin = "/usr/sbin/lighttpd"

// startLighttpd writes lighttpd.conf and runs lighttpd in the foreground.
// lighttpd is a single process serving every connection from one event
// loop (server.max-worker stays at its default of none), as Debian ships
// it.
func (s *Server) startLighttpd(ctx context.Context, d lighttpdData) error {
	bin, err := s.require("lighttpd", lighttpdBin)
	if err != nil {
		return err
	}
	d.Name, d.Dir, d.Port = s.desc.Name, s.dir, s.port
	if s.worker != nil {
		d.User, d.Group = s.worker.user, s.worker.group
	}
	if err := s.mkdir("htdocs", "tmp"); err != nil {
		return err
	}
	conf, err := s.write("lighttpd.conf", d)
	if err != nil {
		return err
	}
	// -D: stay in the foreground. With no server.errorlog, lighttpd logs
	// to stderr, which run keeps in lighttpd.out.log: lighttpd opens an
	// error log only after dropping to the worker user, who may not
	// reach the log directory.
	_, err = s.run(ctx, procSpec{name: "lighttpd", path: bin, args: []string{"-D", "-f", conf}, env: env()})
	return err
}

func planLighttpdCGI(ctx context.Context, s *Server) error {
	if _, err := s.require("lighttpd", lighttpdBin); err != nil {
		return err
	}
	bin, db, err := s.stageApp()
	if err != nil {
		return err
	}
	return s.startLighttpd(ctx, lighttpdData{Program: bin, DB: db})
}

func planLighttpdFCGI(ctx context.Context, s *Server) error {
	if _, err := s.require("lighttpd", lighttpdBin); err != nil {
		return err
	}
	sock, _, err := s.startDaemon(ctx)
	if err != nil {
		return err
	}
	return s.startLighttpd(ctx, lighttpdData{Socket: sock})
}
