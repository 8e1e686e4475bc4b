package reports

import (
	"html"
	"strings"
	"testing"

	"forkbench/results"
)

func TestWrap(t *testing.T) {
	for _, tc := range []struct {
		in    string
		width int
		want  string
	}{
		{"short title", 20, "short title"},
		{"Latency by percentile, plaintext (open model at 100 req/s)", 40, "Latency by percentile, plaintext\n(open model at 100 req/s)"},
		{"aaaa bbbb cccc dddd eeee", 10, "aaaa bbbb\ncccc dddd\neeee"},
		{"averyveryverylongword tail", 10, "averyveryverylongword\ntail"},
		{"averyveryverylongword", 10, "averyveryverylongword"},
	} {
		if got := wrap(tc.in, tc.width); got != tc.want {
			t.Errorf("wrap(%q, %d) = %q; want %q", tc.in, tc.width, got, tc.want)
		}
	}
}

// mustCharts draws the charts of fs, failing t if it cannot, and returns
// them with their names in order.
func mustCharts(t *testing.T, fs ...*results.File) ([]Chart, []string) {
	t.Helper()
	cs, err := Charts(fs)
	if err != nil {
		t.Fatal(err)
	}
	names := make([]string, len(cs))
	for i, c := range cs {
		names[i] = c.Name
	}
	return cs, names
}

// chartText returns the SVG of the chart called name in cs, or fails.
func chartText(t *testing.T, cs []Chart, name string) string {
	t.Helper()
	for _, c := range cs {
		if c.Name == name {
			svg, err := c.SVG()
			if err != nil {
				t.Fatal(err)
			}
			return string(svg)
		}
	}
	t.Fatalf("no chart %q", name)
	return ""
}

// TestBarsScale checks that bars spanning orders of magnitude go on a log
// axis (so CGI's bar is visible beside embedded's) and that every bar is
// labelled with its value.
func TestBarsScale(t *testing.T) {
	cs, _ := mustCharts(t, readFixture(t))
	for _, tc := range []struct {
		chart  string
		log    bool
		labels []string
	}{
		{"throughput", true, []string{"41.4k", "18.1k", "916", "32.1k", "13.9k", "680"}},
		{"cpu-per-request", true, []string{"24.7", "60.0", "2394"}},
		{"peak-memory", false, []string{"19.5", "32.5", "48.9"}},
	} {
		t.Run(tc.chart, func(t *testing.T) {
			text := chartText(t, cs, tc.chart)
			if got := strings.Contains(text, "log scale"); got != tc.log {
				t.Errorf("log scale = %v; want %v", got, tc.log)
			}
			for _, l := range tc.labels {
				if !strings.Contains(text, ">"+l+"<") {
					t.Errorf("no bar labelled %q", l)
				}
			}
			if strings.Contains(text, ".00<") {
				t.Error("tick labels with trailing zeros")
			}
		})
	}
}

// TestLatencyFallback checks that a target saturated at every offered rate
// still appears in the latency charts, from the closed model and marked so,
// rather than vanishing from the comparison.
func TestLatencyFallback(t *testing.T) {
	fx := readFixture(t)
	f := *fx
	f.Points = nil
	for _, p := range fx.Points {
		if p.Target == TargetCGI && p.Model == results.ModelOpen {
			p.Saturated = true
		}
		f.Points = append(f.Points, p)
	}
	cs, _ := mustCharts(t, &f)
	for _, name := range []string{"latency-plaintext", "timeline-plaintext"} {
		t.Run(name, func(t *testing.T) {
			var title string
			for _, c := range cs {
				if c.Name == name {
					title = c.Title
				}
			}
			if !strings.Contains(title, "open model at 200 req/s") || !strings.Contains(title, "cgi: closed model, no valid open-model point") {
				t.Errorf("title %q does not say cgi came from the closed model", title)
			}
			text := chartText(t, cs, name)
			want := []string{">embedded", ">fcgi", ">" + html.EscapeString("cgi (closed model)")}
			for _, w := range want {
				if !strings.Contains(text, w) {
					t.Errorf("SVG lacks series %q", w)
				}
			}
		})
	}
}

// TestRoundsNeedTwo checks that the across-rounds chart, whose point is the
// spread, is skipped when every target ran one round.
func TestRoundsNeedTwo(t *testing.T) {
	fx := readFixture(t)
	f := *fx
	f.Points = nil
	for _, p := range fx.Points {
		if p.Round == 1 {
			f.Points = append(f.Points, p)
		}
	}
	_, names := mustCharts(t, &f)
	for _, name := range names {
		if strings.HasPrefix(name, "rounds-") {
			t.Errorf("Charts(one round) drew %s", name)
		}
	}
	if len(names) == 0 || names[0] != "throughput" {
		t.Errorf("Charts(one round) = %v; want the other charts still drawn", names)
	}
}

// TestBarsZeroRound: a round in which a target answered nothing (0 req/s)
// on a log-scale bar chart draws its error bar to the chart's foot
// instead of failing to draw.
func TestBarsZeroRound(t *testing.T) {
	f := readFixture(t)
	for i := range f.Points {
		p := &f.Points[i]
		if p.Target == "cgi" && p.Model == results.ModelClosed && p.Round == 1 {
			p.Throughput = 0
		}
	}
	cs, _ := mustCharts(t, f)
	if text := chartText(t, cs, "throughput"); !strings.Contains(text, "log scale") {
		t.Error("throughput chart not on a log scale")
	}
}
