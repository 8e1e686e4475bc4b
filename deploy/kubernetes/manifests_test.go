package kubernetes

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// object is a manifest document, read loosely: the test walks it by path.
type object = map[string]any

func load(t *testing.T, file string) []object {
	t.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out []object
	for {
		var o object
		if err := dec.Decode(&o); errors.Is(err, io.EOF) {
			return out
		} else if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if o != nil {
			out = append(out, o)
		}
	}
}

// get walks o along path ("spec.template.spec.containers"); an int step
// indexes a list.
func get(o any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, ok := o.(object)
			if !ok {
				return nil
			}
			o = m[k]
		case int:
			l, ok := o.([]any)
			if !ok || k >= len(l) {
				return nil
			}
			o = l[k]
		}
	}
	return o
}

func str(o any, path ...any) string { s, _ := get(o, path...).(string); return s }

func find(t *testing.T, objs []object, kind, name string) object {
	t.Helper()
	for _, o := range objs {
		if o["kind"] == kind && str(o, "metadata", "name") == name {
			return o
		}
	}
	t.Fatalf("no %s %s", kind, name)
	return nil
}

func container(t *testing.T, pod any, name string) map[string]any {
	t.Helper()
	for _, c := range get(pod, "containers").([]any) {
		if m := c.(map[string]any); m["name"] == name {
			return m
		}
	}
	t.Fatalf("no container %s", name)
	return nil
}

// TestRequiredFields checks every document has what the API server
// requires of its kind.
func TestRequiredFields(t *testing.T) {
	for _, file := range []string{"server.yaml", "run.yaml"} {
		for i, o := range load(t, file) {
			where := fmt.Sprintf("%s document %d", file, i+1)
			if str(o, "apiVersion") == "" || str(o, "kind") == "" || str(o, "metadata", "name") == "" {
				t.Errorf("%s: missing apiVersion, kind or metadata.name", where)
				continue
			}
			var pod any
			switch o["kind"] {
			case "Deployment":
				if str(o, "apiVersion") != "apps/v1" {
					t.Errorf("%s: Deployment apiVersion %q", where, str(o, "apiVersion"))
				}
				sel := get(o, "spec", "selector", "matchLabels").(map[string]any)
				labels := get(o, "spec", "template", "metadata", "labels").(map[string]any)
				for k, v := range sel {
					if labels[k] != v {
						t.Errorf("%s: selector %s=%v does not match the pod's labels", where, k, v)
					}
				}
				pod = get(o, "spec", "template", "spec")
			case "Job":
				if str(o, "apiVersion") != "batch/v1" {
					t.Errorf("%s: Job apiVersion %q", where, str(o, "apiVersion"))
				}
				pod = get(o, "spec", "template", "spec")
				if rp := str(pod, "restartPolicy"); rp != "Never" && rp != "OnFailure" {
					t.Errorf("%s: a Job's restartPolicy must be Never or OnFailure, got %q", where, rp)
				}
			case "Service":
				if len(get(o, "spec", "ports").([]any)) == 0 {
					t.Errorf("%s: Service without ports", where)
				}
			case "PersistentVolumeClaim":
				if get(o, "spec", "accessModes") == nil || str(o, "spec", "resources", "requests", "storage") == "" {
					t.Errorf("%s: PVC without accessModes or storage request", where)
				}
			default:
				t.Errorf("%s: unexpected kind %v", where, o["kind"])
			}
			if pod == nil {
				continue
			}
			all := append(slices.Clone(asList(get(pod, "initContainers"))), asList(get(pod, "containers"))...)
			if len(asList(get(pod, "containers"))) == 0 {
				t.Errorf("%s: no containers", where)
			}
			vols := map[string]bool{}
			for _, v := range asList(get(pod, "volumes")) {
				vols[str(v, "name")] = true
			}
			for _, c := range all {
				if str(c, "name") == "" || str(c, "image") == "" {
					t.Errorf("%s: a container without name or image", where)
				}
				for _, m := range asList(get(c, "volumeMounts")) {
					if !vols[str(m, "name")] || str(m, "mountPath") == "" {
						t.Errorf("%s: container %s mounts %q, not a volume of the pod", where, str(c, "name"), str(m, "name"))
					}
				}
			}
		}
	}
}

func asList(v any) []any { l, _ := v.([]any); return l }

// TestWiring checks what ties the manifests together: the shard count in
// the Indexed Job, its --shard flag and the merge step; the service and
// the ports the generators use; the token for an agent beyond loopback;
// and that every `bench run` flag used exists.
func TestWiring(t *testing.T) {
	server, run := load(t, "server.yaml"), load(t, "run.yaml")
	shards := find(t, run, "Job", "forkbench-shards")
	if str(shards, "spec", "completionMode") != "Indexed" {
		t.Errorf("shards Job completionMode = %q; want Indexed", str(shards, "spec", "completionMode"))
	}
	n, _ := get(shards, "spec", "completions").(int)
	if p, _ := get(shards, "spec", "parallelism").(int); n < 1 || p != n {
		t.Errorf("completions %d, parallelism %d; want equal (all shards at once)", n, p)
	}
	pod := get(shards, "spec", "template", "spec")
	gen := container(t, pod, "generator")
	script := str(gen, "args", 0)
	if !strings.Contains(script, fmt.Sprintf(`--shard "$SHARD_INDEX/%d"`, n)) {
		t.Errorf("generator script %q; want --shard \"$SHARD_INDEX/%d\"", script, n)
	}
	env := map[string]any{}
	for _, e := range asList(gen["env"]) {
		env[str(e, "name")] = e
	}
	if fp := str(env["SHARD_INDEX"], "valueFrom", "fieldRef", "fieldPath"); fp != "metadata.annotations['batch.kubernetes.io/job-completion-index']" {
		t.Errorf("SHARD_INDEX comes from %q; want the completion index", fp)
	}
	if str(env["START_AT"], "value") != "@START_AT@" {
		t.Errorf("START_AT = %q; want the @START_AT@ placeholder the README replaces", str(env["START_AT"], "value"))
	}
	merge := find(t, run, "Job", "forkbench-merge")
	wait := get(merge, "spec", "template", "spec", "initContainers", 0)
	if v := str(wait, "env", 0, "value"); str(wait, "env", 0, "name") != "SHARDS" || v != strconv.Itoa(n) {
		t.Errorf("merge waits for SHARDS=%q; want %d", v, n)
	}
	if !strings.Contains(str(get(merge, "spec", "template", "spec"), "containers", 0, "args", 0), "bench merge") {
		t.Error("the merge step does not run bench merge")
	}

	// The generators reach the server and the agent through the Service.
	svc := find(t, server, "Service", "forkbench-server")
	ports := map[int]string{}
	for _, p := range asList(get(svc, "spec", "ports")) {
		port, _ := get(p, "port").(int)
		ports[port] = str(p, "targetPort")
	}
	for _, m := range regexp.MustCompile(`http://forkbench-server:(\d+)`).FindAllStringSubmatch(script, -1) {
		port, _ := strconv.Atoi(m[1])
		if ports[port] == "" {
			t.Errorf("the generators use port %d, which the Service does not expose", port)
		}
	}
	dep := find(t, server, "Deployment", "forkbench-server")
	spod := get(dep, "spec", "template", "spec")
	if get(spod, "shareProcessNamespace") != true {
		t.Error("the agent sidecar cannot see the server's processes without shareProcessNamespace")
	}
	agent := container(t, spod, "agent")
	args := strings.Join(toStrings(agent["args"]), " ")
	if strings.Contains(args, "0.0.0.0") && str(agent, "env", 0, "name") != "FORKBENCH_AGENT_TOKEN" {
		t.Error("the agent listens beyond loopback without a token")
	}
	if str(agent, "env", 0, "valueFrom", "secretKeyRef", "name") != str(env["FORKBENCH_AGENT_TOKEN"], "valueFrom", "secretKeyRef", "name") {
		t.Error("the agent and the generators read the token from different Secrets")
	}
	claim := str(get(pod, "volumes", 0), "persistentVolumeClaim", "claimName")
	if find(t, server, "PersistentVolumeClaim", claim) == nil || str(get(merge, "spec", "template", "spec", "volumes", 0), "persistentVolumeClaim", "claimName") != claim {
		t.Errorf("generators and merge step do not share the claim %q", claim)
	}

	// Every flag of `bench run` the generators pass exists.
	usage := benchRunUsage(t)
	for _, m := range regexp.MustCompile(`bench run (.*?);`).FindStringSubmatch(script)[1:] {
		for _, f := range regexp.MustCompile(`--([a-z0-9-]+)`).FindAllStringSubmatch(m, -1) {
			if !strings.Contains(usage.String(), "\n  -"+f[1]+" ") && !strings.Contains(usage.String(), "\n  -"+f[1]+"\n") {
				t.Errorf("bench run has no flag --%s", f[1])
			}
		}
	}
}

// benchRunUsage is `bench run -h` of the built bench ($FORKBENCH_BIN, as
// `make test` sets it).
func benchRunUsage(t *testing.T) *bytes.Buffer {
	t.Helper()
	dir := os.Getenv("FORKBENCH_BIN")
	if dir == "" {
		if os.Getenv("FORKBENCH_STRICT") == "1" {
			t.Fatal("FORKBENCH_BIN is not set: cannot check the manifests' bench run flags")
		}
		t.Skip("FORKBENCH_BIN is not set (make test sets it): the manifests' bench run flags are not checked")
	}
	var usage bytes.Buffer
	cmd := exec.Command(filepath.Join(dir, "bench"), "run", "-h")
	cmd.Stdout, cmd.Stderr = &usage, &usage
	_ = cmd.Run() // -h exits non-zero
	if !strings.Contains(usage.String(), "-targets") {
		t.Fatalf("bench run -h printed no usage: %q", usage.String())
	}
	return &usage
}

func toStrings(v any) []string {
	var out []string
	for _, x := range asList(v) {
		s, _ := x.(string)
		out = append(out, s)
	}
	return out
}
