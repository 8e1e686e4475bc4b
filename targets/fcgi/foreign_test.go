package fcgi

// Tests against real FastCGI servers other than Go's: PHP-FPM (one worker
// per connection, answers FCGI_GET_VALUES with FCGI_MPXS_CONNS only) and
// uWSGI's FastCGI socket (closes every connection after one request).
// Each is started by the Daemon supervisor from a configuration written to
// t.TempDir(), in the foreground, and skipped where not installed.

import (
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"forkbench/internal/testbin"
)

// phpFPM returns a DaemonConfig that runs PHP-FPM with a static pool of
// workers on a unix socket in dir, and the path of a PHP script there.
func phpFPM(t *testing.T, workers int) (DaemonConfig, string) {
	t.Helper()
	matches, _ := filepath.Glob("/usr/sbin/php-fpm*")
	if len(matches) == 0 {
		t.Skip("PHP-FPM not installed (/usr/sbin/php-fpm*): skipping the foreign-daemon test")
	}
	bin := matches[len(matches)-1]
	dir := t.TempDir()
	script := filepath.Join(dir, "index.php")
	php := `<?php
header("Content-Type: text/plain");
echo "hello from php ", $_SERVER["DOCUMENT_ROOT"], " q=", $_GET["q"] ?? "", "\n";
`
	if err := os.WriteFile(script, []byte(php), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "fpm.sock")
	conf := fmt.Sprintf(`[global]
pid = "%s/fpm.pid"
error_log = "%s/fpm.log"
daemonize = no
[test]
listen = "%s"
pm = static
pm.max_children = %d
`, dir, dir, sock, workers)
	args := []string{"-F", "-n", "-y", filepath.Join(dir, "fpm.conf")}
	if os.Geteuid() == 0 {
		// PHP-FPM refuses to run workers as root unless told to; the
		// script lives in a directory only root can read.
		conf += "user = root\ngroup = root\n"
		args = append(args, "-R")
	}
	if err := os.WriteFile(filepath.Join(dir, "fpm.conf"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	return DaemonConfig{Path: bin, Args: args, Network: "unix", Address: sock, Output: io.Discard}, script
}

// hammer sends n GETs of path from c concurrent clients and returns the
// status counts and the first unexpected body.
func hammer(t *testing.T, url string, c, n int, wantBody string) (map[int]int, string) {
	t.Helper()
	var (
		mu     sync.Mutex
		codes  = map[int]int{}
		oddity string
		wg     sync.WaitGroup
	)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: c}}
	defer hc.CloseIdleConnections()
	for range c {
		wg.Go(func() {
			for range n {
				code, body := -1, ""
				resp, err := hc.Get(url)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					code, body = resp.StatusCode, string(b)
				}
				mu.Lock()
				codes[code]++
				if body != wantBody && oddity == "" {
					oddity = fmt.Sprintf("%d %q %v", code, body, err)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return codes, oddity
}

func TestPHPFPM(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PHP-FPM")
	}
	const workers = 4
	tests := []struct {
		desc     string
		maxConns int
		wantKeep bool
		wantMax  int
	}{
		// PHP-FPM declares no FCGI_MAX_CONNS and does not multiplex:
		// its worker count is unknown, so connections are not kept.
		{"asks the daemon", 0, false, DefaultMaxOpen},
		// Told its worker count, the front keeps exactly that many.
		{"max conns is workers", workers, true, workers},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			dc, script := phpFPM(t, workers)
			lb := &testbin.SyncBuffer{}
			root := filepath.Dir(script)
			tg := startTarget(t, Config{
				Daemon:   dc,
				KeepConn: true,
				MaxConns: tt.maxConns,
				Timeout:  30 * time.Second,
				// The test asserts that no request starves, not how
				// long they queue on a machine shared with other work.
				QueueTimeout: 30 * time.Second,
				Params:       []string{"SCRIPT_FILENAME=" + script, "DOCUMENT_ROOT=" + root},
				ErrorLog:     log.New(lb, "", 0),
			})
			if tg.KeepConn() != tt.wantKeep || tg.MaxConns() != tt.wantMax {
				t.Errorf("pool plan: keep %v, max %d; want %v, %d (log: %s)", tg.KeepConn(), tg.MaxConns(), tt.wantKeep, tt.wantMax, lb)
			}
			want := "hello from php " + root + " q=1\n"
			if code, body := getURL(t, tg.URL()+"/index.php?q=1"); code != 200 || body != want {
				t.Fatalf("GET = %d %q; want 200 %q (log: %s)", code, body, want, lb)
			}
			// 32 clients on 4 workers: every request is served; none
			// waits behind a kept connection that pins a worker.
			codes, oddity := hammer(t, tg.URL()+"/index.php?q=1", 32, 10, want)
			if codes[200] != 320 {
				t.Errorf("32×10 GETs: statuses %v, first odd reply %s; want 320 × 200", codes, oddity)
			}
			if s := tg.PoolStats(); tt.wantKeep && s.Dials > workers {
				t.Errorf("pool %+v; want at most %d connections dialled", s, workers)
			}
		})
	}
	t.Run("without SCRIPT_FILENAME", func(t *testing.T) {
		dc, _ := phpFPM(t, 1)
		tg := startTarget(t, Config{Daemon: dc, KeepConn: true, Timeout: 30 * time.Second})
		// What a user of a front without --fcgi-param got (issue 10).
		if code, body := getURL(t, tg.URL()+"/index.php"); code != 404 || body != "File not found.\n" {
			t.Errorf("GET = %d %q; want PHP-FPM's 404 \"File not found.\\n\"", code, body)
		}
	})
}

// TestUWSGI runs a WSGI app on uWSGI's FastCGI socket, which closes every
// connection after one request whatever FCGI_KEEP_CONN says. Forced to
// keep connections (MaxConns set), the front finds out, stops keeping
// them, and no request fails on the way.
func TestUWSGI(t *testing.T) {
	if testing.Short() {
		t.Skip("starts uWSGI")
	}
	bin, err := exec.LookPath("uwsgi")
	if err != nil {
		t.Skip("uwsgi not installed: skipping")
	}
	if _, err := os.Stat("/usr/lib/uwsgi/plugins/python3_plugin.so"); err != nil {
		t.Skip("uwsgi-plugin-python3 not installed: skipping")
	}
	dir := t.TempDir()
	app := filepath.Join(dir, "app.py")
	py := `def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"hello from wsgi " + environ.get("QUERY_STRING", "").encode() + b"\n"]
`
	if err := os.WriteFile(app, []byte(py), 0o644); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "uwsgi.sock")
	lb := &testbin.SyncBuffer{}
	tg := startTarget(t, Config{
		Daemon: DaemonConfig{
			Path: bin,
			Args: []string{"--plugin", "python3", "--fastcgi-socket", sock, "--wsgi-file", app,
				"--master", "--processes", "2", "--die-on-term", "--disable-logging"},
			Network: "unix", Address: sock, Output: io.Discard,
		},
		KeepConn:     true,
		MaxConns:     2,
		Timeout:      30 * time.Second,
		QueueTimeout: 30 * time.Second,
		ErrorLog:     log.New(lb, "", 0),
	})
	want := "hello from wsgi q=1\n"
	codes, oddity := hammer(t, tg.URL()+"/?q=1", 8, 25, want)
	if codes[200] != 200 {
		t.Errorf("8×25 GETs: statuses %v, first odd reply %s; want 200 × 200 (log: %s)", codes, oddity, lb)
	}
	if s := tg.PoolStats(); !s.KeepStopped {
		t.Errorf("pool %+v; want KeepStopped (log: %s)", s, lb)
	}
}
