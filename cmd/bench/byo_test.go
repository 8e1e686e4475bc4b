package main

// Tests of "bring your own app": programs the suite has never seen,
// named by `--targets` specs and driven by a `--requests` file.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"forkbench/results"
)

// shellCGI is a foreign CGI program: it answers with the method, the
// path, the query, one request header and the request body.
const shellCGI = `#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
printf '%s %s?%s x-test=%s body=' "$REQUEST_METHOD" "$PATH_INFO" "$QUERY_STRING" "$HTTP_X_TEST"
cat
`

// runUser runs `bench run` with args, one short closed-model round, and
// returns the result file.
func runUser(t *testing.T, args ...string) *results.File {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	out := filepath.Join(t.TempDir(), "out")
	base := []string{"run", "--app-bin", bins.SampleApp, "--out", out, "--model", "closed", "--duration", "500ms",
		"--warmup", "100ms", "--rounds", "1", "--connections", "2", "--no-report"}
	mustRun(t, ctx, append(base, args...)...)
	return readResults(t, out)
}

// TestRunUserCGI measures a shell CGI script named by a labelled spec,
// beside the built-in embedded target, with the user's requests: every
// point carries the label, the request's name, method and path, and only
// successes; the spec and the requests are recorded.
func TestRunUserCGI(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "hello.cgi", shellCGI, 0o755)
	writeFile(t, dir, "body.txt", "abc", 0o644)
	reqs := writeFile(t, dir, "reqs.txt", "# name: greet\nGET /greet?who=x\nX-Test: 1\n\nPOST /post\n@body.txt\n", 0o644)
	spec := "hi=cgi:" + filepath.Join(dir, "hello.cgi")
	f := runUser(t, "--targets", "embedded,"+spec, "--requests", reqs)
	want := map[string]string{"greet": "GET /greet?who=x", "POST /post": "POST /post"}
	got := map[string]int{}
	for _, p := range f.Points {
		if p.Target != "hi" {
			continue
		}
		got[p.Endpoint]++
		if w := want[p.Endpoint]; p.Method+" "+p.Path != w {
			t.Errorf("point %s sent %s %s; want %s", p.Endpoint, p.Method, p.Path, w)
		}
		if p.Successes == 0 || p.StatusCodes["200"] != p.Requests {
			t.Errorf("hi %s: %d successes, codes %v; want all 200", p.Endpoint, p.Successes, p.StatusCodes)
		}
	}
	if got["greet"] != 1 || got["POST /post"] != 1 {
		t.Errorf("points of hi by endpoint = %v; want one each of greet and \"POST /post\"", got)
	}
	specs := f.Settings.Specs
	if len(specs) != 1 || specs[0].Label != "hi" || specs[0].Spec != spec || specs[0].Kind != "cgi" ||
		specs[0].Options.CGIBin != filepath.Join(dir, "hello.cgi") {
		t.Errorf("settings.target_specs = %+v; want hi, %q, cgi, its program", specs, spec)
	}
	if r := f.Settings.Requests; len(r) != 2 || r[0].Name != "greet" || r[0].Header["X-Test"][0] != "1" ||
		r[1].Method != "POST" || r[1].BodyBytes != 3 {
		t.Errorf("settings.requests = %+v; want greet (X-Test: 1) and POST /post (3 bytes)", r)
	}
	skipped := false
	for _, n := range f.Notes {
		skipped = skipped || (n.Kind == results.NoteVerifySkipped && n.Subject == "hi")
	}
	if !skipped {
		t.Errorf("notes = %+v; want verification skipped for hi only", f.Notes)
	}
}

// serveSpec starts `bench serve --target SPEC args…`, returns its URL
// and stops it (SIGTERM, exit 0) at the end of the test.
func serveSpec(t *testing.T, spec string, args ...string) string {
	t.Helper()
	return startListening(t, append([]string{"serve", "--target", spec, "--app-bin", bins.SampleApp, "--data", t.TempDir()}, args...)...).url
}

// TestServeUserCGI serves a shell CGI script and a C CGI program (when
// a C compiler is here) through `bench serve --target cgi:PROGRAM`: the
// exact body shows the method, path, query, header and body arrived.
func TestServeUserCGI(t *testing.T) {
	dir := t.TempDir()
	progs := map[string]string{"sh": writeFile(t, dir, "hello.cgi", shellCGI, 0o755)}
	if cc, err := exec.LookPath("cc"); err == nil {
		src := writeFile(t, dir, "hello.c", `#include <stdio.h>
#include <stdlib.h>
static const char *env(const char *k) { const char *v = getenv(k); return v ? v : ""; }
int main(void) {
	int c;
	printf("Content-Type: text/plain\r\n\r\n%s %s?%s x-test=%s body=", env("REQUEST_METHOD"), env("PATH_INFO"), env("QUERY_STRING"), env("HTTP_X_TEST"));
	while ((c = getchar()) != EOF) putchar(c);
	return 0;
}
`, 0o644)
		bin := filepath.Join(dir, "hello-c.cgi")
		if out, err := exec.Command(cc, "-O2", "-o", bin, src).CombinedOutput(); err != nil {
			t.Fatalf("cc: %v\n%s", err, out)
		}
		progs["c"] = bin
	} else if os.Getenv("FORKBENCH_STRICT") == "1" {
		t.Fatal("FORKBENCH_STRICT=1: no C compiler (cc) for the C CGI program")
	} else {
		t.Log("no C compiler (cc): the C CGI program is not tested")
	}
	for name, prog := range progs {
		t.Run(name, func(t *testing.T) {
			url := serveSpec(t, "cgi:"+prog)
			code, body := get(t, "POST", url+"/post?a=1", "abc", http.Header{"X-Test": {"7"}})
			if want := "POST /post?a=1 x-test=7 body=abc"; code != 200 || body != want {
				t.Errorf("POST /post?a=1 = %d %q; want 200 %q", code, body, want)
			}
		})
	}
}

// phpFPM returns PHP-FPM's path, or skips (fails under FORKBENCH_STRICT=1)
// when it is not installed.
func phpFPM(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/usr/sbin/php-fpm8.2", "php-fpm8.2", "php-fpm"} {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
	}
	if os.Getenv("FORKBENCH_STRICT") == "1" {
		t.Fatal("FORKBENCH_STRICT=1: PHP-FPM is not installed (make servers)")
	}
	t.Skip("PHP-FPM is not installed (make servers): the foreign FastCGI daemon is not tested")
	return ""
}

// fpmSpec writes a PHP-FPM pool of four static workers on a unix socket
// in dir and a PHP page, and returns the fcgi-cmd spec starting it and
// the --fcgi-param naming the page.
func fpmSpec(t *testing.T, fpm, dir string) (spec, param string) {
	t.Helper()
	sock := filepath.Join(dir, "fpm.sock")
	conf := writeFile(t, dir, "fpm.conf", fmt.Sprintf(`[global]
error_log = %[1]s/fpm.log
pid = %[1]s/fpm.pid
daemonize = no
[www]
listen = %[2]s
pm = static
pm.max_children = 4
`, dir, sock), 0o644)
	page := writeFile(t, dir, "index.php", `<?php echo "php says ", $_SERVER["REQUEST_METHOD"], " ", $_SERVER["REQUEST_URI"];`+"\n", 0o644)
	cmd := fpm + " -F -y " + conf
	if os.Geteuid() == 0 {
		cmd += " -R" // PHP-FPM refuses to run as root without it
	}
	return fmt.Sprintf("php=fcgi-cmd:'%s'@unix:%s", cmd, sock), "SCRIPT_FILENAME=" + page
}

// TestUserPHPFPM starts PHP-FPM from a spec, serves a PHP page through
// our FastCGI front with a user's SCRIPT_FILENAME (exact body), then
// measures it with a requests file.
func TestUserPHPFPM(t *testing.T) {
	fpm := phpFPM(t)
	t.Run("serve", func(t *testing.T) {
		spec, param := fpmSpec(t, fpm, t.TempDir())
		url := serveSpec(t, strings.TrimPrefix(spec, "php="), "--fcgi-param", param, "--fcgi-max-conns", "4")
		code, body := get(t, "GET", url+"/index.php?x=1", "", nil)
		if want := "php says GET /index.php?x=1"; code != 200 || body != want {
			t.Errorf("GET /index.php?x=1 = %d %q; want 200 %q", code, body, want)
		}
	})
	t.Run("run", func(t *testing.T) {
		dir := t.TempDir()
		spec, param := fpmSpec(t, fpm, dir)
		reqs := writeFile(t, dir, "reqs.txt", "# name: page\nGET /index.php?x=1\n", 0o644)
		f := runUser(t, "--targets", spec, "--fcgi-param", param, "--fcgi-max-conns", "4", "--requests", reqs)
		if len(f.Points) != 1 {
			t.Fatalf("points = %d; want 1", len(f.Points))
		}
		p := f.Points[0]
		if p.Target != "php" || p.Endpoint != "page" || p.Path != "/index.php?x=1" || p.Successes == 0 || p.StatusCodes["200"] != p.Requests {
			t.Errorf("point = %s %s %s, %d successes, codes %v; want php page /index.php?x=1, all 200",
				p.Target, p.Endpoint, p.Path, p.Successes, p.StatusCodes)
		}
		if s := f.Settings.Specs; len(s) != 1 || s[0].Kind != "fcgi" || s[0].Options.FCGIDaemon != fpm || len(s[0].Options.FCGIParams) != 1 {
			t.Errorf("settings.target_specs = %+v; want php as fcgi with its daemon and SCRIPT_FILENAME", s)
		}
	})
}

// TestRunBadSpecsAndRequests: a bad spec or requests file is one line on
// stderr, a failed exit, and nothing is written.
func TestRunBadSpecsAndRequests(t *testing.T) {
	dir := t.TempDir()
	notExec := writeFile(t, dir, "plain.txt", "x", 0o644)
	badReqs := writeFile(t, dir, "bad.txt", "GET /a\nnot a header\n", 0o644)
	noBody := writeFile(t, dir, "nobody.txt", "POST /a\n@missing.bin\n", 0o644)
	goodReqs := writeFile(t, dir, "good.txt", "GET /a\n", 0o644)
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown kind", []string{"--targets", "ftp:x"}, `unknown kind "ftp"`},
		{"unterminated quote", []string{"--targets", "fcgi-cmd:'php-fpm -F"}, "unterminated ' quote"},
		{"label twice", []string{"--targets", "a=cgi,a=fcgi"}, `label "a" used twice`},
		{"missing cgi", []string{"--targets", "cgi:" + filepath.Join(dir, "none.cgi")}, "none.cgi: no such file"},
		{"cgi not executable", []string{"--targets", "cgi:" + notExec}, "is not an executable file"},
		{"missing daemon", []string{"--targets", "fcgi-cmd:/nonexistent/daemon -x"}, "/nonexistent/daemon"},
		{"bad fcgi addr", []string{"--targets", "fcgi-addr:nonsense"}, `"nonsense": want unix:PATH`},
		{"remote fcgi addr", []string{"--targets", "fcgi-addr:192.0.2.1:9000"}, `"192.0.2.1" is not a loopback address`},
		{"remote url", []string{"--targets", "url:http://192.0.2.1:80"}, "not a loopback address"},
		{"missing requests", []string{"--requests", filepath.Join(dir, "none.txt")}, "none.txt: no such file"},
		{"bad request line", []string{"--requests", badReqs}, "bad.txt:2: want a header"},
		{"missing body", []string{"--requests", noBody}, "missing.bin"},
		{"requests and endpoints", []string{"--requests", goodReqs, "--endpoints", "json"}, "--requests replaces the endpoints"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "out")
			msg := strings.TrimSpace(refusedRun(t, out, c.args))
			if !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Errorf("stderr = %q; want one line containing %q", msg, c.want)
			}
			if _, err := os.Stat(out); err == nil {
				t.Errorf("--out %s was created by a refused run", out)
			}
		})
	}
}
