package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"forkbench/internal/testbin"
	"forkbench/results"
)

var bins testbin.Paths

// TestMain builds the binaries the tests run into a temporary directory,
// removed afterwards even when the build fails.
func TestMain(m *testing.M) {
	testbin.MainInTempDir(m, "forkbench-bin-", func(dir string) (err error) {
		bins, err = testbin.Build(dir)
		return err
	})
}

// TestServe checks `bench serve` for every deployment: the URL on the
// first line, the app answering, and after SIGTERM no child process and no
// socket file left.
func TestServe(t *testing.T) {
	for _, kind := range []string{"embedded", "cgi", "fcgi"} {
		t.Run(kind, func(t *testing.T) {
			sockDir := t.TempDir()
			args := []string{"serve", "--target", kind, "--app-bin", bins.SampleApp, "--data", t.TempDir()}
			if kind == "fcgi" {
				args = append(args, "--fcgi-addr", "unix:"+filepath.Join(sockDir, "app.sock"))
			}
			srv := startListening(t, args...)
			if !strings.HasPrefix(srv.url, "http://127.0.0.1:") {
				t.Fatalf("URL = %q; want \"http://127.0.0.1:PORT\"", srv.url)
			}
			if code, body := get(t, "GET", srv.url+"/plaintext", "", nil); code != 200 || body != "Hello, World!" {
				t.Fatalf("GET /plaintext = %d %q; want 200 \"Hello, World!\"", code, body)
			}
			kids := children(srv.cmd.Process.Pid)
			if kind == "fcgi" && len(kids) != 1 {
				t.Errorf("fcgi serve has children %v; want exactly the daemon", kids)
			}
			if err := srv.stop(); err != nil {
				t.Fatal(err)
			}
			checkGone(t, kids, "stop")
			if entries, _ := os.ReadDir(sockDir); len(entries) != 0 {
				t.Errorf("socket directory holds %d entries after stop; want none", len(entries))
			}
		})
	}
}

func TestVerify(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	out, err := bench(t, ctx, "verify", "--app-bin", bins.SampleApp).CombinedOutput()
	if err != nil {
		t.Fatalf("bench verify: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "3 deployments (embedded,fcgi,cgi) answered") {
		t.Errorf("bench verify output = %q", out)
	}
}

// TestVerifyNamesDifference points the CGI deployment at a program that
// answers differently: verify must fail and name it.
func TestVerifyNamesDifference(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	script := writeFile(t, t.TempDir(), "wrong.cgi", "#!/bin/sh\nprintf 'Content-Type: text/plain\\r\\nServer: forkbench\\r\\n\\r\\nHello, Wrld!'\n", 0o755)
	out, err := bench(t, ctx, "verify", "--app-bin", bins.SampleApp, "--cgi-bin", script, "--targets", "embedded,cgi").CombinedOutput()
	if err == nil {
		t.Fatalf("bench verify succeeded against a wrong CGI program:\n%s", out)
	}
	if !strings.Contains(string(out), "cgi") || !strings.Contains(string(out), "/plaintext") {
		t.Errorf("bench verify output %q does not name the deployment and request", out)
	}
}

func TestRunBadInput(t *testing.T) {
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"unknown target", []string{"--targets", "nope"}, `unknown target "nope"`},
		{"unknown endpoint", []string{"--endpoints", "nope"}, `unknown endpoint "nope"`},
		{"reference not a real server", []string{"--references", "nginx-fcgi,cgi"}, `reference "cgi" is not a real server (known: apache-cgi,`},
		{"unknown flag", []string{"--frobnicate"}, "frobnicate"},
		{"bad slo", []string{"--slo-p99", "fast"}, `--slo-p99: cannot parse "fast"`},
		{"missing config", []string{"--config", "/nonexistent/x.toml"}, "/nonexistent/x.toml"},
		{"unreachable url", []string{"--url", "http://127.0.0.1:1", "--rounds", "1"}, "unreachable"},
		{"non-loopback url", []string{"--url", "http://192.0.2.1:80"}, "not a loopback address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			// The previous run's files in --out must survive bad input.
			out := filepath.Join(t.TempDir(), "latest")
			previous := map[string]string{"results.json": `{"previous": true}`, "targets.log": "previous log\n", "report.html": "<p>previous</p>\n"}
			if err := os.MkdirAll(out, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, content := range previous {
				if err := os.WriteFile(filepath.Join(out, name), []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			if stderr := refusedRun(t, out, c.args); !strings.Contains(stderr, c.want) {
				t.Errorf("stderr = %q; want it to contain %q", stderr, c.want)
			}
			ents, _ := os.ReadDir(out)
			if len(ents) != len(previous) {
				t.Errorf("--out holds %d entries after the refusal; want the previous %d", len(ents), len(previous))
			}
			for name, want := range previous {
				if got, err := os.ReadFile(filepath.Join(out, name)); err != nil || string(got) != want {
					t.Errorf("%s after the refusal = %q, %v; want the previous %q", name, got, err, want)
				}
			}
		})
	}
}

// TestRunInterrupted sends SIGINT during a run: the results gathered so far
// are written, marked partial, and every target process is gone.
func TestRunInterrupted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	out := t.TempDir()
	cmd := bench(t, ctx, "run", "--app-bin", bins.SampleApp, "--out", out, "--targets", "embedded",
		"--endpoints", "plaintext", "--model", "closed", "--duration", "1s", "--warmup", "0s", "--rounds", "30", "--no-report")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(out, "results.json")
	deadline := time.Now().Add(60 * time.Second)
	for {
		if f, err := results.Read(path); err == nil && len(f.Points) >= 1 {
			break
		}
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatalf("no point written within 60s; stderr:\n%s", stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	kids := children(cmd.Process.Pid)
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil {
		t.Error("interrupted run exited 0; want non-zero")
	}
	f, err := results.Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !f.Partial || len(f.Points) == 0 || len(f.Points) >= 30 {
		t.Errorf("after SIGINT: partial=%v points=%d; want partial with some but not all points", f.Partial, len(f.Points))
	}
	checkGone(t, kids, "the interrupted run")
}

// TestRunSmall runs a short real measurement of all three deployments,
// with the default scenario's references (nginx on the same CGI child and
// FastCGI daemon, closed model only), and checks the result file
// describes it fully. Where nginx is not installed the references are
// skipped with their reason, a failure in strict mode.
func TestRunSmall(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	out := t.TempDir()
	stdout := mustRun(t, ctx, "run", "--app-bin", bins.SampleApp, "--out", out, "--endpoints", "plaintext",
		"--model", "closed,open", "--rate", "50", "--duration", "500ms", "--warmup", "100ms", "--rounds", "2", "--connections", "4")
	f := readResults(t, out)
	if f.Partial {
		t.Errorf("complete run marked partial: %s", f.PartialReason)
	}
	refs := []string{"nginx-fcgiwrap", "nginx-fcgi"}
	if len(f.Skipped) > 0 {
		testbin.Missing(t, fmt.Sprintf("references skipped: %v", f.Skipped))
		refs = nil
	}
	if got := fmt.Sprint(f.Settings.References); got != fmt.Sprint(refs) {
		t.Errorf("references = %s; want %v", got, refs)
	}
	if got, want := len(f.Points), 3*2*2+len(refs)*2; got != want {
		t.Errorf("points = %d; want %d (3 targets × 2 models × 2 rounds, %d references × closed × 2 rounds)", got, want, len(refs))
	}
	if f.Environment.GoVersion == "" || f.Environment.CPUs == 0 || f.Environment.Kernel == "" {
		t.Errorf("environment not recorded: %+v", f.Environment)
	}
	if f.Pinning.Enabled != (f.Environment.CPUs >= 2) {
		t.Errorf("pinning = %+v with %d CPUs", f.Pinning, f.Environment.CPUs)
	}
	orders := map[int][]string{}
	for _, p := range f.Points {
		if p.Model == results.ModelClosed {
			orders[p.Round] = append(orders[p.Round], p.Target)
		}
		if p.Requests == 0 || p.StatusCodes["200"] != p.Requests {
			t.Errorf("%s %s round %d: %d requests, codes %v; want all 200", p.Target, p.Model, p.Round, p.Requests, p.StatusCodes)
		}
		if !p.Server.Observed || p.Server.CPUNs <= 0 {
			t.Errorf("%s: server cost not observed: %+v", p.Target, p.Server)
		}
		if p.Latency.Histogram == "" {
			t.Errorf("%s: no histogram", p.Target)
		}
		if p.Model == results.ModelOpen && p.Corrected == nil {
			t.Errorf("%s: open point without corrected latency", p.Target)
		}
	}
	round := append([]string{"embedded", "fcgi", "cgi"}, refs...)
	back := slices.Clone(round)
	slices.Reverse(back)
	if fmt.Sprint(orders[1]) != fmt.Sprint(round) || fmt.Sprint(orders[2]) != fmt.Sprint(back) {
		t.Errorf("round orders = %v; want interleaved %v, then reversed", orders, round)
	}
	for _, name := range []string{"report.html", "report.md", "report.csv"} {
		if st, err := os.Stat(filepath.Join(out, name)); err != nil || st.Size() == 0 {
			t.Errorf("%s not written: %v", name, err)
		}
	}
	if !strings.Contains(stdout, "report.html") {
		t.Errorf("stdout does not end with the report path:\n%s", stdout)
	}
	raw, _ := json.Marshal(f.Settings)
	if !strings.Contains(string(raw), `"rounds":2`) {
		t.Errorf("settings not recorded: %s", raw)
	}
}

// TestRunCountsErrors measures a CGI program that always crashes: every
// request is a 502, counted by kind, none dropped.
func TestRunCountsErrors(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	script := writeFile(t, t.TempDir(), "crash.cgi", "#!/bin/sh\nexit 3\n", 0o755)
	out := t.TempDir()
	mustRun(t, ctx, "run", "--app-bin", bins.SampleApp, "--out", out, "--targets", "cgi", "--cgi-bin", script,
		"--no-verify", "--endpoints", "plaintext", "--model", "closed", "--connections", "2",
		"--duration", "300ms", "--warmup", "0s", "--rounds", "1", "--no-report")
	f := readResults(t, out)
	if len(f.Points) != 1 {
		t.Fatalf("points = %d; want 1", len(f.Points))
	}
	p := f.Points[0]
	if p.Requests == 0 || p.StatusCodes["502"] != p.Requests || p.Successes != 0 {
		t.Errorf("requests %d, codes %v, successes %d; want every request a 502", p.Requests, p.StatusCodes, p.Successes)
	}
	if p.Errors["status_5xx"] != p.Requests {
		t.Errorf("errors by kind = %v; want status_5xx = %d", p.Errors, p.Requests)
	}
	log, _ := os.ReadFile(filepath.Join(out, "targets.log"))
	if !bytes.Contains(log, []byte("exit")) {
		t.Errorf("targets.log does not record the child's exit:\n%.500s", log)
	}
}

// TestLoadgenCheck runs `bench loadgen-check` briefly against wrk: the
// table names the three generators and the verdict line says how far ours
// got. It needs wrk (a skip, or in strict mode a failure, without it);
// --min-ratio 0 keeps a noisy machine from failing it.
func TestLoadgenCheck(t *testing.T) {
	if _, err := exec.LookPath("wrk"); err != nil {
		testbin.Missing(t, "wrk not found: install the Debian package wrk, e.g. with `make deps`, to run this test")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	stdout := mustRun(t, ctx, "loadgen-check", "--app-bin", bins.SampleApp, "--rounds", "1", "--duration", "1s", "--connections", "4", "--min-ratio", "0")
	for _, want := range []string{"wrk", "forkbench (epoll)", "forkbench (net/http)", "of wrk's throughput"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("output lacks %q:\n%s", want, stdout)
		}
	}
}
