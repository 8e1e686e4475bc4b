package fronts_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"forkbench/app"
	"forkbench/internal/testbin"
	"forkbench/targets"
	"forkbench/targets/catalog"
	"forkbench/targets/fronts"
	"forkbench/verify"
)

// Set by TestMain: the app binary, a seeded database in a private
// directory (so that, as root, staging for the worker user is exercised),
// and the Python twin or, while it is absent, the stand-in in testdata.
var (
	appBin, dbPath, pyDir string
)

func TestMain(m *testing.M) {
	testbin.MainInTempDir(m, "fronts-test-", func(dir string) error {
		bins, err := testbin.Build(dir)
		if err != nil {
			return err
		}
		appBin = bins.SampleApp
		dbPath = filepath.Join(dir, "data", "world.db")
		if err := os.Mkdir(filepath.Dir(dbPath), 0o700); err != nil {
			return err
		}
		if err := app.Seed(context.Background(), dbPath); err != nil {
			return err
		}
		pyDir = pythonDir()
		return nil
	})
}

// pythonDir is $FORKBENCH_PYTHON_DIR or the module's app/python, the
// Python twin of the sample app.
func pythonDir() string {
	if d := os.Getenv("FORKBENCH_PYTHON_DIR"); d != "" {
		return d
	}
	d, _ := filepath.Abs("../../app/python")
	return d
}

// strict is CI's mode: a missing server fails instead of skipping.
func strict() bool { return os.Getenv("FORKBENCH_STRICT") == "1" }

// limit bounds every wait so a broken server fails the test instead of
// hanging it; nothing waits for it to pass.
const limit = 90 * time.Second

// TestSmoke starts every target, sends it requests on every endpoint the
// deployed app has, checks the answers, stops it and checks that no
// process, socket or temporary directory is left and the logs are kept.
func TestSmoke(t *testing.T) {
	for _, name := range fronts.Names() {
		t.Run(name, func(t *testing.T) { smoke(t, name) })
	}
}

func smoke(t *testing.T, name string) {
	d, _ := fronts.Describe(name)
	logDir := t.TempDir()
	srv, err := fronts.New(name, fronts.Config{
		AppBin: appBin, DBPath: dbPath, PythonDir: pyDir, LogDir: logDir,
		ErrorLog: log.New(testWriter{t}, "", 0),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	defer cancel()
	if err := srv.Start(ctx); err != nil {
		_ = srv.Stop(context.Background())
		if errors.Is(err, fronts.ErrMissing) && !strict() {
			t.Skip(err)
		}
		t.Fatalf("Start: %v", err)
	}
	dir := srv.Dir()
	roots := srv.PIDs()

	checkPlaintext(t, srv.URL())
	cases := checkEndpoints(t, srv.URL())
	if d.Language == fronts.LangGo {
		checkIdentical(t, name, srv.URL(), cases)
	}

	if err := srv.Stop(ctx); err != nil {
		t.Errorf("Stop: %v", err)
		for _, p := range srv.Logs() {
			b, _ := os.ReadFile(p)
			t.Logf("%s:\n%s", p, b)
		}
	}
	for _, pid := range roots {
		if pid == os.Getpid() {
			continue // the suite's own front, in this process
		}
		if left := targets.GroupMembers(pid); len(left) > 0 {
			t.Errorf("processes %v of group %d still running after Stop", left, pid)
		}
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory %s still there after Stop (%v)", dir, err)
	}
	if _, err := http.Get(srv.URL() + "/plaintext"); err == nil {
		t.Errorf("%s still answers after Stop", srv.URL())
	}
	kept := 0
	for _, p := range srv.Logs() {
		if _, err := os.Stat(p); err == nil {
			kept++
		}
	}
	if (d.Front != fronts.FrontGo && len(srv.Logs()) == 0) || kept != len(srv.Logs()) {
		t.Errorf("logs %v: %d kept in LogDir after Stop; want all", srv.Logs(), kept)
	}
}

// checkPlaintext wants exactly "Hello, World!" from GET /plaintext, on
// several requests over one kept-alive connection.
func checkPlaintext(t *testing.T, url string) {
	t.Helper()
	client := &http.Client{Timeout: limit}
	for range 3 {
		resp, err := client.Get(url + "/plaintext")
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 || string(body) != app.HelloWorld {
			t.Fatalf("GET /plaintext = %d %q, %v; want 200 %q", resp.StatusCode, body, err, app.HelloWorld)
		}
	}
}

// checkEndpoints sends verify's cases (all of them for the Go app and the
// Python twin; /plaintext, /json and a 404 for the stand-in) and checks
// status, Content-Type and body. Server and the framing headers are the
// front's, not the app's, so they are not compared here.
func checkEndpoints(t *testing.T, url string) []verify.Case {
	t.Helper()
	// "echo too large" is left out: the app answers 413 without reading
	// the body, and the fronts differ in what follows (mod_cgid drops the
	// client connection, fcgiwrap answers 502, mod_proxy_fcgi answers the
	// next request on the reused daemon connection 503), which is the
	// fronts' behaviour, not the deployment's.
	cases := slices.DeleteFunc(verify.Cases(), func(c verify.Case) bool { return c.Name == "echo too large" })
	resps, err := verify.Fetch(t.Context(), &http.Client{Timeout: limit}, url, cases)
	if err != nil {
		t.Fatal(err)
	}
	for i, c := range cases {
		r := resps[i]
		if r.Status != c.Status || r.Header.Get("Content-Type") != c.ContentType {
			t.Errorf("%s %s = %d %q; want %d %q (body %.80q)", c.Method, c.Path, r.Status, r.Header.Get("Content-Type"), c.Status, c.ContentType, r.Body)
			continue
		}
		if c.Check != nil {
			if err := c.Check(r.Body); err != nil {
				t.Errorf("%s %s: %v", c.Method, c.Path, err)
			}
		}
	}
	return cases
}

// checkIdentical compares a front's answers to cases byte for byte with
// the app served in-process, as `bench run` verifies before measuring: a
// header the front adds to the app's response (lighttpd's Accept-Ranges,
// unless turned off) fails here rather than in a user's run.
func checkIdentical(t *testing.T, name, url string, cases []verify.Case) {
	t.Helper()
	a, err := app.New(app.Config{DBPath: dbPath})
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ref := httptest.NewServer(a)
	defer ref.Close()
	err = verify.CompareCases(t.Context(), &http.Client{Timeout: limit}, cases,
		verify.Deployment{Name: "embedded", URL: ref.URL}, verify.Deployment{Name: name, URL: url})
	if err != nil {
		t.Error(err)
	}
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func TestDescriptors(t *testing.T) {
	names := map[string]bool{}
	for _, d := range fronts.Descriptors() {
		if d.Name == "" || d.Front == "" || d.Protocol == "" || d.Language == "" || d.Summary == "" || names[d.Name] {
			t.Errorf("descriptor %+v: empty field or duplicate name", d)
		}
		names[d.Name] = true
	}
	for _, k := range append(catalog.Kinds(), fronts.Names()...) {
		if !names[k] {
			t.Errorf("target %q has no descriptor", k)
		}
		if _, err := catalog.Lookup(k); err != nil {
			t.Errorf("catalog does not know %q", k)
		}
	}
	if _, err := fronts.New("nope", fronts.Config{}); err == nil {
		t.Error(`New("nope") succeeded`)
	}
}

func TestMissingError(t *testing.T) {
	err := fmt.Errorf("start: %w", &fronts.MissingError{Target: "nginx-fcgi", Path: "/usr/sbin/nginx", Package: "nginx"})
	var me *fronts.MissingError
	if !errors.Is(err, fronts.ErrMissing) || !errors.As(err, &me) || me.Package != "nginx" {
		t.Errorf("%v: not ErrMissing with package nginx", err)
	}
	want := "start: fronts: nginx-fcgi needs /usr/sbin/nginx (Debian package nginx; `make servers` installs it)"
	if err.Error() != want {
		t.Errorf("Error() = %q; want %q", err.Error(), want)
	}
}
