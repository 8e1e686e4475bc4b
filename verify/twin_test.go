package verify

// The Python twin (app/python) against the Go app, byte for byte: served by
// wsgiref's HTTP server and as a CGI program behind the suite's own CGI
// host, on every case of Cases() and on the edge cases of the app's own
// tests (escapes, clamping, limits, HEAD, methods).

import (
	"bufio"
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"forkbench/app"
	cgihost "forkbench/targets/cgi"
)

// pythonDir holds the twin, relative to this package.
const pythonDir = "../app/python"

// needPython returns python3's path; the twin's tests cannot run without it.
func needPython(t *testing.T) string {
	t.Helper()
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skipf("python3 not found (%v): the Python twin cannot be tested", err)
	}
	return py
}

// seededDB seeds a database in a temporary directory and returns its path.
func seededDB(t *testing.T) string {
	t.Helper()
	db := filepath.Join(t.TempDir(), "world.db")
	if err := app.Seed(context.Background(), db); err != nil {
		t.Fatal(err)
	}
	return db
}

// goApp serves the Go app over db in this process (the embedded deployment).
func goApp(t *testing.T, db string) http.Handler {
	t.Helper()
	a, err := app.New(app.Config{DBPath: db})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

// startWSGIRef runs forkbench_serve.py over db and returns its base URL. The
// process is stopped with SIGTERM, and reaped, when the test ends.
func startWSGIRef(t *testing.T, db string) string {
	t.Helper()
	py := needPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	cmd := exec.CommandContext(ctx, py, "-B", filepath.Join(pythonDir, "forkbench_serve.py"), "--db", db)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		err := cmd.Wait()
		cancel()
		if err != nil {
			t.Errorf("forkbench_serve.py: %v (want exit 0 on SIGTERM)", err)
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if !strings.HasPrefix(line, "listening on http://127.0.0.1:") {
		t.Fatalf("forkbench_serve.py printed %q (%v); want its address", line, err)
	}
	return strings.TrimSpace(strings.TrimPrefix(line, "listening on "))
}

// startPyCGI serves forkbench_cgi.py through the suite's CGI host, with the
// environment the cgi target gives the Go app (FORKBENCH_DB and nothing
// else, not even PATH). When the test ends it checks that every child was
// reaped.
func startPyCGI(t *testing.T, db string) string {
	t.Helper()
	needPython(t)
	script, err := filepath.Abs(filepath.Join(pythonDir, "forkbench_cgi.py"))
	if err != nil {
		t.Fatal(err)
	}
	h := &cgihost.Host{Path: script, Env: []string{"FORKBENCH_DB=" + db}, MaxChildren: 4}
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		srv.Close()
		if err := h.Close(); err != nil {
			t.Errorf("cgi host Close: %v", err)
		}
		if s := h.Stats(); s.Spawned == 0 || s.Reaped != s.Spawned || s.Running != 0 {
			t.Errorf("cgi host stats %+v: want children spawned, all reaped", s)
		}
	})
	return srv.URL
}

// edgeCases are requests beyond Cases() on which the twin must also answer
// exactly as the Go app: the corners of query parsing, clamping and limits
// that app_test.go pins down.
func edgeCases() []Case {
	c := func(method, path string, status int, ct string) Case {
		return Case{Name: method + " " + path, Method: method, Path: path, Status: status, ContentType: ct}
	}
	echoAtLimit := c("POST", "/echo", 200, ctOctet)
	echoAtLimit.Name, echoAtLimit.Body = "echo at the limit", []byte(strings.Repeat("ab", app.DefaultEchoLimit/2))
	echoEmpty := c("POST", "/echo", 200, ctOctet)
	echoEmpty.Name, echoEmpty.Body = "echo empty", []byte{}
	post405 := c("POST", "/plaintext", 405, ctText)
	post405.Body = []byte("x")
	return []Case{
		c("GET", "/db?i%64=%31", 200, ctJSON),
		c("GET", "/db?id=%2B5", 200, ctJSON),
		c("GET", "/db?id=10000", 200, ctJSON),
		c("GET", "/db?id=%zz", 400, ctText),
		c("GET", "/db?id=", 400, ctText),
		c("GET", "/db?id=0", 400, ctText),
		c("GET", "/db?id=+5", 400, ctText),
		c("GET", "/queries?n=3&seed=42", 200, ctJSON),
		c("GET", "/queries?seed=42&n=1", 200, ctJSON),
		c("GET", "/queries?n=%2B7&seed=42", 200, ctJSON),
		c("GET", "/queries?n=+7&seed=42", 200, ctJSON),
		c("GET", "/queries?n=-5&seed=1", 200, ctJSON),
		c("GET", "/queries?n=99999999999999999999&seed=1", 200, ctJSON),
		c("GET", "/queries?n=-99999999999999999999&seed=1", 200, ctJSON),
		c("GET", "/queries?n=%zz&seed=3", 200, ctJSON),
		c("GET", "/queries?n=20&seed=18446744073709551615", 200, ctJSON),
		c("GET", "/queries?seed=18446744073709551616", 400, ctText),
		c("GET", "/queries?seed=%zz", 400, ctText),
		c("GET", "/queries?seed=%2B1", 400, ctText),
		c("GET", "/queries?seed=x", 400, ctText),
		c("GET", "/fortunes?x=1", 200, ctHTML),
		c("GET", "/work?n=0", 200, ctText),
		c("GET", "/work?n=%2B3", 200, ctText),
		c("GET", "/work", 400, ctText),
		c("GET", "/work?n=1000001", 400, ctText),
		c("GET", "/sleep?ms=0", 200, ctText),
		c("GET", "/sleep", 400, ctText),
		c("GET", "/sleep?ms=10001", 400, ctText),
		c("GET", "/bytes?n=0", 200, ctOctet),
		c("GET", "/bytes?n=64256", 200, ctOctet),
		c("GET", "/bytes?n=64257", 200, ctOctet),
		c("GET", "/bytes?n=1e3", 400, ctText),
		c("GET", "/bytes?n=16777217", 400, ctText),
		c("HEAD", "/json", 200, ctJSON),
		c("HEAD", "/db?id=5", 200, ctJSON),
		c("HEAD", "/queries?n=3&seed=1", 200, ctJSON),
		c("HEAD", "/fortunes", 200, ctHTML),
		c("HEAD", "/work?n=3", 200, ctText),
		c("HEAD", "/bytes?n=100000", 200, ctOctet),
		c("HEAD", "/db?id=0", 400, ctText),
		c("HEAD", "/nope", 404, ctText),
		c("HEAD", "/echo", 405, ctText),
		c("GET", "/echo", 405, ctText),
		c("PUT", "/json", 405, ctText),
		post405, echoEmpty, echoAtLimit,
		c("GET", "/", 404, ctText),
		c("GET", "/plaintext/", 404, ctText),
		c("GET", "//plaintext", 404, ctText),
	}
}

// TestPythonTwinIdentical is the twin's acceptance: every case, through
// both ways of serving it, byte for byte as the Go app.
func TestPythonTwinIdentical(t *testing.T) {
	needPython(t)
	db := seededDB(t)
	goSrv := httptest.NewServer(goApp(t, db))
	defer goSrv.Close()
	ref := Deployment{Name: "go-embedded", URL: goSrv.URL}
	client := &http.Client{Timeout: 2 * time.Minute}
	cases := append(Cases(), edgeCases()...)
	for _, tt := range []struct {
		name  string
		start func(*testing.T, string) string
	}{
		{"py-wsgiref", startWSGIRef},
		{"py-cgi", startPyCGI},
	} {
		t.Run(tt.name, func(t *testing.T) {
			other := Deployment{Name: tt.name, URL: tt.start(t, db)}
			if err := CompareDeployments(context.Background(), client, ref, other); err != nil {
				t.Fatalf("Cases(): %v", err)
			}
			if err := CompareCases(context.Background(), client, cases, ref, other); err != nil {
				t.Fatalf("edge cases: %v", err)
			}
		})
	}
}

// TestPythonTwinDifferenceShown: a one-byte difference between the Go app
// and the twin fails verification with that byte, both values and context.
func TestPythonTwinDifferenceShown(t *testing.T) {
	needPython(t)
	db := seededDB(t)
	h := goApp(t, db)
	broken := httptest.NewServer(mangled(h, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path != "/fortunes" {
			return false
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		body := []byte(strings.Replace(rec.Body.String(), "&lt;script&gt;", "&lt;scripT&gt;", 1))
		for k, v := range rec.Header() {
			w.Header()[k] = v
		}
		w.WriteHeader(rec.Code)
		w.Write(body)
		return true
	}))
	defer broken.Close()
	py := startWSGIRef(t, db)
	err := CompareDeployments(context.Background(), &http.Client{Timeout: time.Minute},
		Deployment{Name: "go", URL: broken.URL}, Deployment{Name: "py", URL: py})
	if !errors.Is(err, ErrMismatch) {
		t.Fatalf("CompareDeployments = %v; want a mismatch", err)
	}
	offset := strings.Index(app.FortunesTemplate, "{{range") + len("<tr><td>11</td><td>&lt;scrip")
	checkErr(t, "CompareDeployments", err, []string{
		"GET /fortunes", "body byte " + strconv.Itoa(offset), `go has 0x54 "T"`, `py has 0x74 "t"`,
		`<td>11</td><td>&lt;scrip" »"T&gt;`, `<td>11</td><td>&lt;scrip" »"t&gt;`,
	})
}

// TestPythonTwinUnit runs the twin's own unit tests (app/python), which
// cover what no HTTP comparison reaches: the WSGI input paths, escapes of
// characters the seeded data lacks, start-up errors.
func TestPythonTwinUnit(t *testing.T) {
	py := needPython(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, py, "-B", "-m", "unittest", "-v", "test_forkbench_app")
	cmd.Dir = pythonDir
	cmd.Env = append(os.Environ(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("python3 -m unittest: %v\n%s", err, out)
	}
	t.Logf("%s", out)
}
