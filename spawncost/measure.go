package spawncost

// This file measures the components: the spawn floors, the app's start-up,
// and one request through each deployment, every one from a real process
// or the real handler.

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"forkbench/app"
	"forkbench/results"
	"forkbench/targets/cgi"
	"forkbench/targets/fcgi"
)

// measurer holds what the steps share.
type measurer struct {
	cfg     Config
	fk      *results.Fork
	sp      *spawner
	tmp     string // private directory: sockets, and the database unless DataDir
	db      string
	rows    map[string]results.ForkRow // components by name
	floor   string                     // path of the OS-floor program
	floorNm string                     // its row name
	goEmpty string                     // path of the empty Go program; "" when not built

	app      *app.App
	embedded http.Handler
	host     *cgi.Host
	fcgi     *fcgi.Deployment // while the rows that use it run
}

func newMeasurer(ctx context.Context, cfg Config) (*measurer, error) {
	m := &measurer{cfg: cfg, fk: &results.Fork{}, rows: map[string]results.ForkRow{}}
	var err error
	if m.tmp, err = os.MkdirTemp("", "forkbench-fork-"); err != nil {
		return nil, fmt.Errorf("spawncost: %w", err)
	}
	dataDir := cfg.DataDir
	if dataDir == "" {
		dataDir = m.tmp
	}
	m.db = filepath.Join(dataDir, "world.db")
	if !fileExists(m.db) {
		m.logf("spawncost: seeding %s", m.db)
		if err := app.Seed(ctx, m.db); err != nil {
			m.close()
			return nil, fmt.Errorf("spawncost: %w", err)
		}
	}
	if m.sp, err = newSpawner(); err != nil {
		m.close()
		return nil, err
	}
	return m, nil
}

func (m *measurer) close() {
	if m.fcgi != nil {
		_ = m.fcgi.Close(context.Background())
	}
	if m.host != nil {
		_ = m.host.Close()
	}
	if m.app != nil {
		_ = m.app.Close()
	}
	if m.sp != nil {
		_ = m.sp.close()
	}
	_ = os.RemoveAll(m.tmp)
}

func (m *measurer) logf(format string, args ...any) {
	fmt.Fprintf(m.cfg.Log, format+"\n", args...)
}

// note adds n to the document's notes, leaving out any figure that is
// not finite (a ratio over a zero median): JSON holds no NaN or infinity,
// and one such figure would stop the whole document being written.
// reports shows a missing figure as a dash.
func (m *measurer) note(n results.Note) {
	maps.DeleteFunc(n.Figures, func(_ string, v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) })
	m.fk.Notes = append(m.fk.Notes, n)
}

// errNote is a note of kind k about subject whose detail is err.
func errNote(k results.NoteKind, subject string, err error) results.Note {
	return results.Note{Kind: k, Subject: subject, Detail: []string{err.Error()}}
}

// add appends a row, noting when its time budget cut it short.
func (m *measurer) add(r results.ForkRow, cut bool, want int) {
	if cut {
		m.note(results.Note{Kind: results.ForkNoteBudgetCut, Subject: string(r.Group) + "/" + r.Name, Detail: []string{fmtParams(r.Params)},
			Figures: map[string]float64{"samples": float64(r.Samples), "want": float64(want)}})
	}
	m.fk.Rows = append(m.fk.Rows, r)
}

// measureRow measures fn by plan p as the row tmpl and adds it.
func (m *measurer) measureRow(ctx context.Context, tmpl results.ForkRow, p plan, fn func(context.Context) (sample, error)) error {
	ss, cut, err := collect(ctx, p, fn)
	if err != nil {
		return err
	}
	m.add(forkRow(tmpl, ss), cut, p.reps)
	return nil
}

// component measures fn as the components row called name and remembers
// it by name.
func (m *measurer) component(ctx context.Context, name string, params map[string]string, p plan, fn func(context.Context) (sample, error)) error {
	if err := m.measureRow(ctx, results.ForkRow{Group: results.ForkGroupComponents, Name: name, Params: params}, p, fn); err != nil {
		return err
	}
	m.rows[name] = m.fk.Rows[len(m.fk.Rows)-1]
	return nil
}

// spawnFn spawns path with args once per call.
func (m *measurer) spawnFn(path string, args []string, env []string) func(context.Context) (sample, error) {
	return func(ctx context.Context) (sample, error) {
		s, _, err := m.sp.run(ctx, path, args, env)
		return s, err
	}
}

// components measures the spawn floors, the app's start-up and one
// request through each deployment.
func (m *measurer) components(ctx context.Context) error {
	for _, step := range []func(context.Context) error{m.floors, m.startups, m.requests} {
		if err := step(ctx); err != nil {
			return err
		}
	}
	return nil
}

// floors measures the OS floor: /bin/true, and the static C no-op when
// gcc can build it.
func (m *measurer) floors(ctx context.Context) error {
	cfg := m.cfg
	if fileExists("/bin/true") {
		if err := m.component(ctx, results.ForkBinTrue, map[string]string{results.ForkParamProgram: "/bin/true", results.ForkParamWhat: "spawn+reap of a dynamically linked C program"},
			cfg.spawnPlan(), m.spawnFn("/bin/true", nil, childEnv())); err != nil {
			return err
		}
		m.floor, m.floorNm = "/bin/true", results.ForkBinTrue
	} else {
		m.note(results.Note{Kind: results.ForkNoteNoBinTrue})
	}
	noop, err := buildNoop(ctx, cfg.CacheDir)
	if err != nil {
		m.note(errNote(results.ForkNoteNoStaticNoop, "", err))
	} else {
		if err := m.component(ctx, results.ForkStaticNoop, map[string]string{results.ForkParamProgram: "noop.c, gcc -static -O2", results.ForkParamWhat: "spawn+reap of a static C no-op: the OS floor"},
			cfg.spawnPlan(), m.spawnFn(noop, nil, childEnv())); err != nil {
			return err
		}
		m.floor, m.floorNm = noop, results.ForkStaticNoop
	}
	if m.floor == "" {
		return errors.New("spawncost: no OS-floor program: neither gcc nor /bin/true")
	}
	return nil
}

// startups measures the Go programs' starts: the Go runtime alone (an
// empty main, none of the app's packages), the app's runtime and package
// initialisation (-noop) and the app's whole start-up.
func (m *measurer) startups(ctx context.Context) error {
	cfg := m.cfg
	if err := m.goEmptyComponent(ctx); err != nil {
		return err
	}
	if err := m.component(ctx, results.ForkGoNoop, map[string]string{results.ForkParamProgram: "sampleapp -noop", "size_bytes": fileSize(cfg.AppBin),
		results.ForkParamWhat: "exec, Go runtime start and every package initialiser of the app's dependencies (the SQLite driver's included), exit before any app start-up"},
		cfg.spawnPlan(), m.spawnFn(cfg.AppBin, []string{"-noop"}, childEnv())); err != nil {
		return err
	}
	if err := m.component(ctx, results.ForkStartupOnly, map[string]string{results.ForkParamProgram: "sampleapp -startup-only", results.ForkParamWhat: "exec, runtime start, app start-up (database, templates), exit"},
		cfg.heavyPlan(), m.spawnFn(cfg.AppBin, []string{"-startup-only", "-db", m.db}, childEnv())); err != nil {
		return err
	}
	return nil
}

// requests measures one request in-process, through CGI and through
// FastCGI.
func (m *measurer) requests(ctx context.Context) error {
	cfg := m.cfg
	var err error
	// The in-process handler: the request alone, and the reference body
	// every deployment must return.
	if m.app, err = app.New(app.Config{DBPath: m.db}); err != nil {
		return fmt.Errorf("spawncost: %w", err)
	}
	m.embedded = app.Recover(m.app, log.New(m.cfg.Log, "spawncost: embedded: ", 0).Printf)
	want, err := m.reference(m.cfg.Path)
	if err != nil {
		return err
	}
	if err := m.component(ctx, results.ForkEmbeddedRequest, map[string]string{"path": cfg.Path, results.ForkParamWhat: "the handler called in-process; CPU is the calling thread's"},
		cfg.requestPlan(), onThread(requestFn("embedded", m.embedded, cfg.Path, want, threadCPU))); err != nil {
		return err
	}

	// CGI through our host, a process per request.
	m.host = &cgi.Host{
		Path:   cfg.AppBin,
		Env:    []string{"FORKBENCH_DB=" + m.db},
		Logger: slog.New(slog.NewTextHandler(m.cfg.Log, nil)),
	}
	if err := m.component(ctx, results.ForkCGIRequest, map[string]string{"path": cfg.Path, results.ForkParamWhat: "targets/cgi.Host execs sampleapp per request; CPU is the child's"},
		cfg.heavyPlan(), requestFn("cgi", m.host, cfg.Path, want, childrenCPU)); err != nil {
		return err
	}
	st := m.host.Stats()
	r := m.rows[results.ForkCGIRequest]
	r.Params["children_spawned"] = strconv.FormatUint(st.Spawned, 10)
	r.Params["children_reaped"] = strconv.FormatUint(st.Reaped, 10)
	if st.Spawned != st.Reaped {
		m.note(results.Note{Kind: results.ForkNoteUnreaped, Figures: map[string]float64{"spawned": float64(st.Spawned), "reaped": float64(st.Reaped)}})
	}

	// FastCGI: one daemon, a pooled connection.
	if err := m.startFCGI(ctx); err != nil {
		return err
	}
	fr, err := m.fcgiRow(ctx, results.ForkRow{Group: results.ForkGroupComponents, Name: results.ForkFCGIRequest, Params: map[string]string{"path": cfg.Path, "keep_conn": "true",
		results.ForkParamWhat: "targets/fcgi client over a unix socket to a persistent sampleapp daemon"}}, cfg.requestPlan(), cfg.Path, want)
	m.rows[fr.Name] = fr
	return err
}

// goEmptyComponent builds the empty Go program and measures it as the
// go-empty component: the Go runtime's floor, which separates the
// runtime's own start-up from the package initialisers of the app's
// dependencies. Without the go tool it notes why and measures nothing;
// the decomposition then has no package-init row.
func (m *measurer) goEmptyComponent(ctx context.Context) error {
	gotool, err := goTool()
	if err == nil {
		m.logf("spawncost: building the empty Go program")
		m.goEmpty, err = buildGoEmpty(ctx, gotool, m.cfg.CacheDir)
	}
	if err != nil {
		m.goEmpty = ""
		m.note(errNote(results.ForkNoteNoGoEmpty, "", err))
		return nil
	}
	return m.component(ctx, results.ForkGoEmpty, map[string]string{results.ForkParamProgram: "empty.go (func main() {}), CGO_ENABLED=0 -trimpath", "size_bytes": fileSize(m.goEmpty),
		results.ForkParamWhat: "exec, Go runtime start and the standard packages the runtime itself initialises, exit: the Go runtime's floor"},
		m.cfg.spawnPlan(), m.spawnFn(m.goEmpty, nil, childEnv()))
}

// fileSize is the size of the file at p in bytes, as a row param; ""
// when it cannot be read.
func fileSize(p string) string {
	st, err := os.Stat(p)
	if err != nil {
		return ""
	}
	return strconv.FormatInt(st.Size(), 10)
}

// reference is the embedded handler's answer to path, which every
// deployment's answer must equal.
func (m *measurer) reference(path string) ([]byte, error) {
	req, err := newRequest(context.Background(), path)
	if err != nil {
		return nil, err
	}
	rec := newRecorder()
	m.embedded.ServeHTTP(rec, req)
	if rec.status() != http.StatusOK {
		return nil, fmt.Errorf("spawncost: embedded GET %s = %d; want 200", path, rec.status())
	}
	return rec.body.Bytes(), nil
}
