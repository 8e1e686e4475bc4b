package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"forkbench/app"
	"forkbench/results"
	"forkbench/targets"
)

// appTarget serves the sample app in process, as the Go front would or,
// with server set, as a real front would (its own Server header, its body
// changed by mangle); KeepLogs makes it write an error log there on Start,
// as a real front's `bench serve --log-dir` does.
type appTarget struct {
	name, server string
	h            http.Handler
	mangle       func(body string) string
	logDir       string
	srv          *http.Server
	ln           net.Listener
}

func (a *appTarget) Name() string        { return a.name }
func (a *appTarget) URL() string         { return "http://" + a.ln.Addr().String() }
func (a *appTarget) PIDs() []int         { return nil }
func (a *appTarget) KeepLogs(dir string) { a.logDir = dir }

func (a *appTarget) Start(ctx context.Context) error {
	if a.logDir != "" {
		if err := os.MkdirAll(a.logDir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(a.logDir, "error.log"), []byte("AH00489: started\n"), 0o644); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	a.ln = ln
	a.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.server == "" {
			a.h.ServeHTTP(w, r)
			return
		}
		rec := &recorder{header: http.Header{}}
		a.h.ServeHTTP(rec, r)
		for k, v := range rec.header {
			w.Header()[k] = v
		}
		w.Header().Set("Server", a.server)
		body := rec.body.String()
		if a.mangle != nil {
			body = a.mangle(body)
		}
		w.WriteHeader(rec.code)
		_, _ = io.WriteString(w, body)
	})}
	go func() { _ = a.srv.Serve(ln) }()
	return nil
}

func (a *appTarget) Stop(ctx context.Context) error {
	if a.srv == nil {
		return nil
	}
	err := a.srv.Shutdown(ctx)
	a.srv = nil
	return err
}

type recorder struct {
	header http.Header
	code   int
	body   strings.Builder
}

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) WriteHeader(c int)   { r.code = c }
func (r *recorder) Write(b []byte) (int, error) {
	if r.code == 0 {
		r.code = 200
	}
	return r.body.Write(b)
}

// TestRunRealFronts: a real front is verified byte for byte against the
// embedded reference (started for verification only when the scenario
// does not name it), its logs land in OUT/logs/NAME, its descriptor is
// recorded, and a front whose server is missing (a `bench serve` child
// that says "unavailable: …") is skipped with its reason while the run
// goes on; a front that answers one byte differently fails verification
// naming that byte.
func TestRunRealFronts(t *testing.T) {
	db := filepath.Join(t.TempDir(), "world.db")
	if err := app.Seed(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	h, err := app.New(app.Config{DBPath: db})
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	const reason = "fronts: nginx-fcgi needs /usr/sbin/nginx (Debian package nginx; `make servers` installs it)"
	newTarget := func(mangle func(string) string) func(string, []int, io.Writer) (targets.Target, error) {
		return func(kind string, _ []int, stderr io.Writer) (targets.Target, error) {
			switch kind {
			case "embedded":
				return &appTarget{name: kind, h: h}, nil
			case "apache-fcgi":
				return &appTarget{name: kind, h: h, server: "Apache/2.4.62 (Debian)", mangle: mangle}, nil
			case "nginx-fcgi":
				return &targets.Process{Label: kind, Path: "/bin/sh", Args: []string{"-c", "echo 'unavailable: " + reason + "'; exit 1"},
					Stderr: stderr, NoCgroup: true, LogDirFlag: "--log-dir"}, nil
			}
			return nil, fmt.Errorf("unexpected kind %q", kind)
		}
	}
	sc := twoShortRounds(t, "nginx-fcgi", "apache-fcgi")

	dir := filepath.Join(t.TempDir(), "out")
	f, err := Run(context.Background(), Config{Scenario: sc, NewTarget: newTarget(nil), OutDir: dir, Progress: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fmt.Sprint(f.Skipped), "[{nginx-fcgi "+reason+"}]"; got != want {
		t.Errorf("skipped = %s; want %s", got, want)
	}
	var measured []string
	for _, p := range f.Points {
		measured = append(measured, fmt.Sprintf("%s/r%d", p.Target, p.Round))
	}
	if got, want := strings.Join(measured, " "), "apache-fcgi/r1 apache-fcgi/r2"; got != want {
		t.Errorf("points = %s; want %s (the missing front skipped, the reference not measured)", got, want)
	}
	if got, want := fmt.Sprint(f.Targets), "[{apache-fcgi apache fastcgi go}]"; got != want {
		t.Errorf("targets = %s; want %s", got, want)
	}
	onDisk, err := results.Read(filepath.Join(dir, "results.json"))
	if err != nil {
		t.Fatal(err)
	}
	if len(onDisk.Skipped) != 1 || len(onDisk.Targets) != 1 {
		t.Errorf("file on disk: skipped %v, targets %v; want them recorded", onDisk.Skipped, onDisk.Targets)
	}
	logData, err := os.ReadFile(filepath.Join(dir, "logs", "apache-fcgi", "error.log"))
	if err != nil || string(logData) != "AH00489: started\n" {
		t.Errorf("OUT/logs/apache-fcgi/error.log = %q, %v; want the front's log", logData, err)
	}

	// One byte differs: verification fails and names it; nothing measured.
	bad := func(body string) string { return strings.Replace(body, "World", "world", 1) }
	_, err = Run(context.Background(), Config{Scenario: sc, NewTarget: newTarget(bad), OutDir: filepath.Join(t.TempDir(), "out"), Progress: io.Discard})
	if !errors.Is(err, ErrVerify) || !strings.Contains(err.Error(), "apache-fcgi") || !strings.Contains(err.Error(), `embedded has 0x57 "W", apache-fcgi has 0x77 "w"`) {
		t.Errorf("Run with a front that differs = %v; want a verification failure naming the byte", err)
	}
}
