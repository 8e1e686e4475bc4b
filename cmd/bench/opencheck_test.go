package main

import (
	"bytes"
	"strings"
	"testing"

	"forkbench/loadgen"
	"forkbench/results"
)

// TestPrintOpenCheckVerdict checks the open-model check's verdict on the
// epoll engine: the share of the closed capacity it sustained and its CPU
// per request against the closed engine's.
func TestPrintOpenCheckVerdict(t *testing.T) {
	sample := func(engine string, rate, cpuUs float64) openSample {
		return openSample{closedRPS: 1000, closedCPUUs: 10, rate: rate, pt: results.Point{
			Engine:    engine,
			Corrected: &results.Latency{P50Ns: 1e6, P99Ns: 2e6}, SendLag: &results.Latency{P99Ns: 1e5},
			Generator: results.GeneratorCost{CPUPerRequestNs: cpuUs * 1e3},
		}}
	}
	tests := []struct {
		name    string
		rate    float64
		cpuUs   float64
		wantErr string
	}{
		{"passes", 950, 14, ""},
		{"too slow", 800, 14, "sustains 80% of the closed model's capacity, below 90%"},
		{"too costly", 950, 16, "costs 1.60× the closed engine's CPU per request"},
		{"nothing valid", 0, 0, "sustains 0%"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res := map[string][]openSample{
				loadgen.EngineEpoll:  {sample("epoll", tc.rate, tc.cpuUs)},
				loadgen.EngineVegeta: {sample("vegeta/fasthttp", 300, 50)},
			}
			var out bytes.Buffer
			err := printOpenCheck(&out, res, 32, 1, 0.9, 1.5)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Errorf("printOpenCheck = %v; want %q", err, tc.wantErr)
			}
			for _, want := range []string{"epoll", "vegeta/fasthttp", "300", "0.30"} {
				if !strings.Contains(out.String(), want) {
					t.Errorf("output lacks %q:\n%s", want, out.String())
				}
			}
		})
	}
}
