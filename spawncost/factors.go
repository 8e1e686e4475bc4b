package spawncost

// This file measures what makes a spawn cheaper or dearer (binary size,
// linkage, the child's GOMAXPROCS and GOGC, the parent's resident size)
// and spawning under concurrency.

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"forkbench/results"
)

// arm is one configuration of a factor.
type arm struct {
	name   string
	params map[string]string
	fn     func(context.Context) (sample, error)
}

// interleave measures the arms of a factor round-robin, one sample of each
// in turn, so that drift on a shared machine (another job starting, the
// CPU clocking down) falls on every arm alike instead of on whichever ran
// last. It stops like collect: at p.reps rounds, or on p.budget once
// p.minReps rounds are in.
func interleave(ctx context.Context, p plan, arms []arm) ([][]sample, bool, error) {
	out := make([][]sample, len(arms))
	round := func(ctx context.Context, keep bool) error {
		for i, a := range arms {
			s, err := a.fn(ctx)
			if err != nil {
				return err
			}
			if keep {
				out[i] = append(out[i], s)
			}
		}
		return nil
	}
	for range p.warmup {
		if err := ctx.Err(); err != nil {
			return nil, false, fmt.Errorf("spawncost: %w", err)
		}
		if err := round(ctx, false); err != nil {
			return nil, false, err
		}
	}
	t0 := time.Now()
	for r := 0; r < p.reps; r++ {
		if err := ctx.Err(); err != nil {
			return nil, false, fmt.Errorf("spawncost: %w", err)
		}
		if p.budget > 0 && r >= max(p.minReps, 1) && time.Since(t0) > p.budget {
			return out, true, nil
		}
		if err := round(ctx, true); err != nil {
			return nil, false, err
		}
	}
	return out, false, nil
}

// factor measures arms interleaved and adds one row per arm.
func (m *measurer) factor(ctx context.Context, p plan, arms []arm) ([]results.ForkRow, error) {
	ss, cut, err := interleave(ctx, p, arms)
	if err != nil {
		return nil, err
	}
	var rows []results.ForkRow
	for i, a := range arms {
		r := forkRow(results.ForkRow{Group: results.ForkGroupFactors, Name: a.name, Params: a.params}, ss[i])
		m.add(r, false, 0)
		rows = append(rows, r)
	}
	if cut {
		m.note(results.Note{Kind: results.ForkNoteFactorBudgetCut, Subject: arms[0].name, Figures: map[string]float64{"rounds": float64(len(ss[0])), "want": float64(p.reps)}})
	}
	return rows, nil
}

// factors measures each factor as rows of the same name with different
// params, and notes the ratio of each arm's median to the first arm's.
func (m *measurer) factors(ctx context.Context) error {
	cfg := m.cfg
	p := cfg.factorPlan()
	startup := []string{"-startup-only", "-db", m.db}

	// Binary size and linkage: the app's runtime floor (-noop), so that
	// only exec, the loader and the runtime's start differ.
	if cfg.SkipBuilds {
		m.note(results.Note{Kind: results.ForkNoteNoVariants})
	} else if err := m.variants(ctx, p); err != nil {
		return err
	}

	// Package initialisation against binary size: the empty Go program,
	// the same padded to the app's size, and the app's -noop.
	if cfg.SkipBuilds {
		m.note(results.Note{Kind: results.ForkNoteNoPadded})
	} else if err := m.packageInit(ctx, p); err != nil {
		return err
	}

	// The child's GOMAXPROCS and GOGC, on the app's full start-up.
	for _, f := range []struct{ name, env, value string }{
		{results.ForkFactorGOMAXPROCS, "GOMAXPROCS", "1"},
		{results.ForkFactorGOGC, "GOGC", "off"},
	} {
		rows, err := m.factor(ctx, p, []arm{
			{f.name, map[string]string{results.ForkParamValue: "default", results.ForkParamProgram: "sampleapp -startup-only"}, m.spawnFn(cfg.AppBin, startup, childEnv())},
			{f.name, map[string]string{results.ForkParamValue: f.value, results.ForkParamProgram: "sampleapp -startup-only", "env": f.env + "=" + f.value}, m.spawnFn(cfg.AppBin, startup, childEnv(f.env+"="+f.value))},
		})
		if err != nil {
			return err
		}
		m.ratioNote(rows, results.ForkParamValue)
	}

	// The parent's resident size, in re-executed children of bench.
	rounds := 3
	if cfg.Quick {
		rounds = 1
	}
	rows, err := parentRSSRows(ctx, cfg.Self, cfg.SelfEnv, []int64{0, cfg.LargeHeap}, m.floor, m.floorNm, cfg.spawnPlan(), rounds)
	if err != nil {
		m.note(errNote(results.ForkNoteNotMeasured, "factors/parent-rss", err))
		return nil
	}
	for _, r := range rows {
		m.add(r, false, 0)
	}
	m.ratioNote(rows, results.ForkParamHeapBytes)
	return nil
}

// variants builds the app three ways and measures each one's -noop.
func (m *measurer) variants(ctx context.Context, p plan) error {
	gotool, err := goTool()
	if err == nil {
		var root string
		if root, err = moduleDir(ctx, gotool, m.cfg.ModuleDir); err == nil {
			var arms []arm
			for _, v := range appVariants() {
				m.logf("spawncost: building sampleapp variant %s", v.name)
				path, err := buildVariant(ctx, gotool, root, m.cfg.CacheDir, v)
				if err != nil {
					m.note(errNote(results.ForkNoteNotMeasured, "factors/binary-"+v.name, err))
					continue
				}
				st, err := os.Stat(path)
				if err != nil {
					return fmt.Errorf("spawncost: %w", err)
				}
				link, err := linkage(path)
				if err != nil {
					return err
				}
				arms = append(arms, arm{results.ForkFactorBinary, map[string]string{
					results.ForkParamVariant: v.name, "size_bytes": strconv.FormatInt(st.Size(), 10), "linkage": link,
					"cgo": v.cgo, "ldflags": v.ldflags, results.ForkParamProgram: "sampleapp -noop",
				}, m.spawnFn(path, []string{"-noop"}, childEnv())})
			}
			if len(arms) > 0 {
				rows, err := m.factor(ctx, p, arms)
				if err != nil {
					return err
				}
				m.ratioNote(rows, results.ForkParamVariant, "linkage", "size_bytes")
			}
			return nil
		}
	}
	m.note(errNote(results.ForkNoteNoVariants, "", err))
	return nil
}

// packageInit measures, interleaved, what package-init is made of: the
// empty Go program, the same padded with unread data to the sample app's
// size, and sampleapp -noop. Padded against empty is the cost of a larger
// file alone; -noop against padded is the rest: the app's init functions
// and the pages its larger text and data make the runtime touch.
func (m *measurer) packageInit(ctx context.Context, p plan) error {
	if m.goEmpty == "" {
		m.note(results.Note{Kind: results.ForkNoteNoEmptyForPadding})
		return nil
	}
	gotool, err := goTool()
	if err != nil {
		m.note(errNote(results.ForkNoteNotMeasured, "factors/package-init", err))
		return nil
	}
	app, err := os.Stat(m.cfg.AppBin)
	if err != nil {
		return fmt.Errorf("spawncost: %w", err)
	}
	empty, err := os.Stat(m.goEmpty)
	if err != nil {
		return fmt.Errorf("spawncost: %w", err)
	}
	if app.Size() <= empty.Size() {
		m.note(results.Note{Kind: results.ForkNoteAppNotLarger, Figures: map[string]float64{"app_bytes": float64(app.Size()), "empty_bytes": float64(empty.Size())}})
		return nil
	}
	m.logf("spawncost: building the empty Go program padded to %d bytes", app.Size())
	padded, err := buildGoPadded(ctx, gotool, m.cfg.CacheDir, app.Size()-empty.Size())
	if err != nil {
		m.note(errNote(results.ForkNoteNoPadded, "", err))
		return nil
	}
	rows, err := m.factor(ctx, p, []arm{
		{results.ForkFactorPackageInit, map[string]string{results.ForkParamVariant: "go-empty", "size_bytes": fileSize(m.goEmpty), results.ForkParamProgram: "empty.go"}, m.spawnFn(m.goEmpty, nil, childEnv())},
		{results.ForkFactorPackageInit, map[string]string{results.ForkParamVariant: "go-empty-padded", "size_bytes": fileSize(padded), results.ForkParamProgram: "empty.go with an unread embedded blob to the app's size"}, m.spawnFn(padded, nil, childEnv())},
		{results.ForkFactorPackageInit, map[string]string{results.ForkParamVariant: "sampleapp-noop", "size_bytes": fileSize(m.cfg.AppBin), results.ForkParamProgram: "sampleapp -noop"}, m.spawnFn(m.cfg.AppBin, []string{"-noop"}, childEnv())},
	})
	if err != nil {
		return err
	}
	m.ratioNote(rows, results.ForkParamVariant, "size_bytes")
	if len(rows) == 3 {
		e, pd, a := rows[0].Wall.MedianNs, rows[1].Wall.MedianNs, rows[2].Wall.MedianNs
		m.note(results.Note{Kind: results.ForkNotePackageInitSplit, Figures: map[string]float64{"init_ns": a - e, "file_ns": pd - e, "packages_ns": a - pd}})
	}
	return nil
}

// ratioNote states each arm's median wall time against the first arm's,
// naming the arms by the params in keys.
func (m *measurer) ratioNote(rows []results.ForkRow, keys ...string) {
	if len(rows) < 2 || rows[0].Wall.MedianNs <= 0 {
		return
	}
	label := func(r results.ForkRow) string {
		var b []string
		for _, k := range keys {
			b = append(b, k+"="+r.Params[k])
		}
		return strings.Join(b, " ")
	}
	base := rows[0]
	for _, r := range rows[1:] {
		m.note(results.Note{Kind: results.ForkNoteArmRatio, Subject: r.Name, Detail: []string{label(r), label(base)},
			Figures: map[string]float64{"wall_ns": r.Wall.MedianNs, "base_ns": base.Wall.MedianNs, "rel": r.Wall.MedianNs/base.Wall.MedianNs - 1}})
	}
}

// concurrency spawns the OS-floor program from k goroutines at once for
// each level k: per-spawn wall time and the total throughput. Go's
// syscall.ForkLock serialises the clone itself, the rest runs in parallel.
func (m *measurer) concurrency(ctx context.Context) error {
	p := m.cfg.spawnPlan()
	total := max(p.reps, 8)
	var first float64
	for _, k := range m.cfg.concurrencyLevels() {
		run := func(n int) ([]sample, time.Duration, error) {
			var (
				mu   sync.Mutex
				ss   = make([]sample, 0, n)
				left atomic.Int64
				wg   sync.WaitGroup
				errs = make([]error, k)
			)
			left.Store(int64(n))
			t0 := time.Now()
			for g := range k {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for left.Add(-1) >= 0 {
						s, _, err := m.sp.run(ctx, m.floor, nil, childEnv())
						if err != nil {
							errs[g] = err
							return
						}
						mu.Lock()
						ss = append(ss, s)
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			el := time.Since(t0)
			for _, err := range errs {
				if err != nil {
					return nil, 0, err
				}
			}
			return ss, el, nil
		}
		if _, _, err := run(max(p.warmup, k)); err != nil {
			return err
		}
		ss, el, err := run(total)
		if err != nil {
			return err
		}
		tput := float64(len(ss)) / el.Seconds()
		if first == 0 {
			first = tput
		}
		m.add(forkRow(results.ForkRow{Group: results.ForkGroupConcurrency, Name: "spawn", Spawners: k, ThroughputPerS: tput, Speedup: tput / first,
			Params: map[string]string{results.ForkParamProgram: m.floorNm}}, ss), false, 0)
	}
	return nil
}
