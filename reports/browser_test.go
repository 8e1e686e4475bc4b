//go:build unix

package reports

// This file opens report.html in headless Chromium, as a reader would: the
// page must render every chart, show something other than a blank page and
// log nothing to the console. It needs the Debian package chromium (the
// Makefile's deps target installs it) and is skipped, saying so, when no
// Chromium binary is found.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"forkbench/internal/testbin"
	"forkbench/results"
)

// chromiumPath finds a Chromium binary, or "" when there is none.
func chromiumPath() string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if _, err := os.Stat("/usr/bin/chromium"); err == nil {
		return "/usr/bin/chromium"
	}
	return ""
}

// chromium runs one headless Chromium in its own process group with a
// fresh profile and home, and returns its stdout and stderr. Whatever the
// outcome, it kills that process group (and only that one), so no
// renderer or zygote outlives the test.
func chromium(ctx context.Context, t *testing.T, bin string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	home := t.TempDir()
	base := []string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking",
		"--disable-component-update", "--disable-sync", "--hide-scrollbars",
		"--enable-logging=stderr", "--v=0",
		"--user-data-dir=" + filepath.Join(home, "profile"),
	}
	cmd := exec.CommandContext(ctx, bin, append(base, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second // children holding our pipes must not hang Wait
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if cmd.Process != nil {
		// The group is ours alone (Setpgid); ESRCH means it is already gone.
		if kerr := syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); kerr != nil && !errors.Is(kerr, syscall.ESRCH) {
			t.Logf("chromium: kill process group %d: %v", cmd.Process.Pid, kerr)
		}
	}
	if ctx.Err() != nil {
		err = fmt.Errorf("chromium %v: %w (stderr: %s)", args, ctx.Err(), tail(errb.Bytes()))
	}
	return out.Bytes(), errb.Bytes(), err
}

// tail is the end of b, for error messages.
func tail(b []byte) []byte {
	if len(b) > 2000 {
		return b[len(b)-2000:]
	}
	return b
}

// consoleLines returns Chromium's console messages from its stderr log:
// report.html has no script, so any is a fault (a script error, a blocked
// resource, invalid markup reported by the engine).
func consoleLines(stderr []byte) []string {
	var out []string
	for line := range strings.SplitSeq(string(stderr), "\n") {
		if strings.Contains(line, ":CONSOLE") || strings.Contains(line, "Uncaught") {
			out = append(out, line)
		}
	}
	return out
}

// pageColours counts the pixels of img that are not (near) white, and
// those close to each target colour of the charts.
func pageColours(img image.Image, targets []color.Color) (nonWhite int, distinct int, perTarget []int) {
	perTarget = make([]int, len(targets))
	seen := map[[3]uint8]bool{}
	near := func(a, b color.Color) bool {
		ar, ag, ab, _ := a.RGBA()
		br, bg, bb, _ := b.RGBA()
		d := func(x, y uint32) int {
			v := int(x>>8) - int(y>>8)
			if v < 0 {
				return -v
			}
			return v
		}
		return d(ar, br) <= 8 && d(ag, bg) <= 8 && d(ab, bb) <= 8
	}
	bnd := img.Bounds()
	for y := bnd.Min.Y; y < bnd.Max.Y; y++ {
		for x := bnd.Min.X; x < bnd.Max.X; x++ {
			c := img.At(x, y)
			r, g, b, _ := c.RGBA()
			seen[[3]uint8{uint8(r >> 8), uint8(g >> 8), uint8(b >> 8)}] = true
			if r>>8 < 245 || g>>8 < 245 || b>>8 < 245 {
				nonWhite++
			}
			for i, tc := range targets {
				if near(c, tc) {
					perTarget[i]++
				}
			}
		}
	}
	return nonWhite, len(seen), perTarget
}

func TestReportInChromium(t *testing.T) {
	bin := chromiumPath()
	if bin == "" {
		testbin.Missing(t, "headless Chromium not found (looked for chromium, chromium-browser, google-chrome): install the Debian package chromium, e.g. with `make deps`, to run this test")
	}
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()

	dir := t.TempDir()
	files := []*results.File{readFixture(t)}
	if _, err := Render(ctx, files, dir, []string{FormatHTML}); err != nil {
		t.Fatal(err)
	}
	cs, err := Charts(files)
	if err != nil {
		t.Fatal(err)
	}
	page := "file://" + filepath.Join(dir, "report.html")

	t.Run("dom", func(t *testing.T) {
		out, stderr, err := chromium(ctx, t, bin, "--virtual-time-budget=5000", "--dump-dom", page)
		if err != nil {
			t.Fatalf("chromium --dump-dom: %v\n%s", err, tail(stderr))
		}
		dom := string(out)
		if n := strings.Count(dom, "<svg"); n != len(cs) {
			t.Errorf("rendered DOM has %d <svg> charts; want %d", n, len(cs))
		}
		for _, c := range cs {
			if !strings.Contains(dom, `<figure id="`+c.Name+`"`) {
				t.Errorf("rendered DOM lacks the figure of chart %s", c.Name)
			}
		}
		for _, want := range []string{"<h1>", `class="headline"`, "Machine and settings", "<table>", `id="notes"`} {
			if !strings.Contains(dom, want) {
				t.Errorf("rendered DOM lacks %q", want)
			}
		}
		// The parser moves what it cannot place (stray markup inside an
		// SVG, say) and the count above would still pass; the headings
		// must come in reading order.
		order := regexp.MustCompile(`<h2[^>]*>([^<]*)</h2>`).FindAllStringSubmatch(dom, -1)
		var got []string
		for _, m := range order {
			got = append(got, m[1])
		}
		if want := "Machine and settings|Charts|Tables|Notes"; strings.Join(got, "|") != want {
			t.Errorf("rendered headings = %q; want %q", strings.Join(got, "|"), want)
		}
		if lines := consoleLines(stderr); len(lines) > 0 {
			t.Errorf("console messages while loading report.html:\n%s", strings.Join(lines, "\n"))
		}
	})

	t.Run("screenshot", func(t *testing.T) {
		shot := filepath.Join(t.TempDir(), "report.png")
		_, stderr, err := chromium(ctx, t, bin, "--window-size=1400,4000", "--screenshot="+shot, page)
		if err != nil {
			t.Fatalf("chromium --screenshot: %v\n%s", err, tail(stderr))
		}
		f, err := os.Open(shot)
		if err != nil {
			t.Fatalf("no screenshot: %v\n%s", err, tail(stderr))
		}
		defer f.Close()
		img, err := png.Decode(f)
		if err != nil {
			t.Fatalf("screenshot: %v", err)
		}
		if b := img.Bounds(); b.Dx() != 1400 || b.Dy() != 4000 {
			t.Errorf("screenshot is %dx%d; want 1400x4000", b.Dx(), b.Dy())
		}
		// The top 4000 px hold the headline, the settings and the first
		// charts: bars and lines in each target's colour.
		names := []string{"embedded", "fcgi", "cgi"}
		nonWhite, distinct, per := pageColours(img, []color.Color{palette(0), palette(1), palette(2)})
		total := img.Bounds().Dx() * img.Bounds().Dy()
		if nonWhite < total/50 {
			t.Errorf("screenshot is nearly blank: %d of %d pixels not white", nonWhite, total)
		}
		if distinct < 16 {
			t.Errorf("screenshot has %d distinct colours; want a rendered page (≥ 16)", distinct)
		}
		for i, n := range per {
			if n < 500 {
				t.Errorf("screenshot has %d pixels of %s's colour; want its bars drawn (≥ 500)", n, names[i])
			}
		}
		if lines := consoleLines(stderr); len(lines) > 0 {
			t.Errorf("console messages while rendering report.html:\n%s", strings.Join(lines, "\n"))
		}
	})
}
