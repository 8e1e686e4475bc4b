package fronts

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// worker is the unprivileged user the servers' workers run as when the
// suite runs as root. A nil *worker (not root) means "as the caller".
type worker struct {
	user, group string
	uid, gid    uint32
}

// currentWorker is nil unless running as root; then www-data (Debian's web
// server user) or nobody.
func currentWorker() (*worker, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"www-data", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		group := u.Gid
		if g, err := user.LookupGroupId(u.Gid); err == nil {
			group = g.Name
		}
		return &worker{user: name, group: group, uid: uint32(uid), gid: uint32(gid)}, nil
	}
	return nil, errors.New("fronts: running as root, and neither www-data nor nobody exists to run the servers' workers as")
}

// credential is what processes started "as worker" run with; nil means as
// the caller.
func (w *worker) credential() *syscall.Credential {
	if w == nil {
		return nil
	}
	return &syscall.Credential{Uid: w.uid, Gid: w.gid, Groups: []uint32{w.gid}}
}

// own gives path to the worker user, so the servers' workers can create
// their sockets and temporary files in it.
func (w *worker) own(path string) error {
	if w == nil {
		return nil
	}
	if err := os.Chown(path, int(w.uid), int(w.gid)); err != nil {
		return fmt.Errorf("fronts: %w", err)
	}
	return nil
}

// can reports whether the worker may access path with the permission bits
// need (4 read, 1 execute) and search every directory on the way.
func (w *worker) can(path string, need os.FileMode) bool {
	abs, err := filepath.Abs(path)
	if err != nil {
		return false
	}
	for dir := filepath.Dir(abs); ; dir = filepath.Dir(dir) {
		if !w.allowed(dir, 1) {
			return false
		}
		if dir == "/" {
			break
		}
	}
	return w.allowed(abs, need)
}

func (w *worker) allowed(path string, need os.FileMode) bool {
	fi, err := os.Stat(path)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return false
	}
	perm := fi.Mode().Perm()
	switch {
	case st.Uid == w.uid:
		perm >>= 6
	case st.Gid == w.gid:
		perm >>= 3
	}
	return perm&need == need
}

// stage returns path if the worker user can reach it (need as in can),
// else a copy of it in the temporary directory: the app binary, database
// and Python files may live under a private home directory.
func (s *Server) stage(path string, need os.FileMode) (string, error) {
	if s.worker == nil || s.worker.can(path, need) {
		return path, nil
	}
	dir := s.path("stage")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("fronts: %w", err)
	}
	dst := filepath.Join(dir, filepath.Base(path))
	if err := copyFile(dst, path); err != nil {
		return "", err
	}
	s.logf("fronts: %s: %s is not readable by user %s; using a copy in %s", s.desc.Name, path, s.worker.user, dir)
	return dst, nil
}

// stageDir stages every regular file of dir (the Python app and the
// modules it imports) if the worker cannot read one of them, and returns
// the directory to use.
func (s *Server) stageDir(dir string) (string, error) {
	if s.worker == nil {
		return dir, nil
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return "", fmt.Errorf("fronts: %w", err)
	}
	ok := s.worker.can(dir, 5)
	for _, e := range ents {
		if ok && e.Type().IsRegular() {
			ok = s.worker.can(filepath.Join(dir, e.Name()), 4)
		}
	}
	if ok {
		return dir, nil
	}
	dst := s.path("stage-" + filepath.Base(dir))
	if err := os.Mkdir(dst, 0o755); err != nil {
		return "", fmt.Errorf("fronts: %w", err)
	}
	for _, e := range ents {
		if e.Type().IsRegular() {
			if err := copyFile(filepath.Join(dst, e.Name()), filepath.Join(dir, e.Name())); err != nil {
				return "", err
			}
		}
	}
	s.logf("fronts: %s: %s is not readable by user %s; using a copy in %s", s.desc.Name, dir, s.worker.user, dst)
	return dst, nil
}

// copyFile copies src to dst, readable by all and executable by all if
// src is executable by its owner.
func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return fmt.Errorf("fronts: %w", err)
	}
	defer in.Close()
	fi, err := in.Stat()
	if err != nil {
		return fmt.Errorf("fronts: %w", err)
	}
	mode := os.FileMode(0o644)
	if fi.Mode()&0o100 != 0 {
		mode = 0o755
	}
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_EXCL|os.O_WRONLY, mode)
	if err != nil {
		return fmt.Errorf("fronts: %w", err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		return fmt.Errorf("fronts: copy %s: %w", src, err)
	}
	if err := out.Close(); err != nil {
		return fmt.Errorf("fronts: %w", err)
	}
	return nil
}

// require returns the first of paths that exists, or a MissingError
// naming the Debian package that installs it.
func (s *Server) require(pkg string, paths ...string) (string, error) {
	for _, p := range paths {
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() {
			return p, nil
		}
	}
	return "", &MissingError{Target: s.desc.Name, Path: paths[0], Package: pkg}
}

// FindPythonDir locates the Python twin: $FORKBENCH_PYTHON_DIR, else
// app/python in the source tree holding this executable (bin/../app/python)
// or the working directory or one of its parents.
func FindPythonDir() (string, error) {
	if d := os.Getenv("FORKBENCH_PYTHON_DIR"); d != "" {
		return d, nil
	}
	var tries []string
	if exe, err := os.Executable(); err == nil {
		tries = append(tries, filepath.Join(filepath.Dir(filepath.Dir(exe)), "app", "python"))
	}
	if wd, err := os.Getwd(); err == nil {
		for d := wd; ; d = filepath.Dir(d) {
			tries = append(tries, filepath.Join(d, "app", "python"))
			if d == filepath.Dir(d) {
				break
			}
		}
	}
	for _, d := range tries {
		if _, err := os.Stat(filepath.Join(d, pyApp)); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("fronts: the Python twin (app/python/%s) was not found beside the executable or above the working directory; set FORKBENCH_PYTHON_DIR", pyApp)
}

// The Python twin's files.
const (
	pyApp = "forkbench_app.py" // WSGI: application
	pyCGI = "forkbench_cgi.py" // executable CGI program (wsgiref CGIHandler)
)
