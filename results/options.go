package results

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// TargetOptions are the options the deployments of a run were started
// with, recorded as data: `bench run` fills them from its flags, starts
// each target from them and writes them into the result file, where
// Comparable reads them.
//
// Paths (binaries, the data directory, addresses) say where something
// is, not how it is measured: they may differ between checkouts and
// builds and do not make two runs incomparable. Every other field does.
type TargetOptions struct {
	// Listen is the front's address; "" means a free loopback port.
	Listen string `json:"listen,omitempty"`
	// AppBin is the sample app binary (cmd/sampleapp) that CGI execs and
	// the FastCGI daemon runs; "" means "sampleapp" beside bench.
	AppBin string `json:"app_bin,omitempty"`
	// DataDir holds the app's SQLite database, created and seeded on
	// first use; "" means the user's cache directory.
	DataDir string `json:"data_dir,omitempty"`

	// CGIBin is the program the CGI target runs per request; "" means
	// AppBin.
	CGIBin          string        `json:"cgi_bin,omitempty"`
	CGITimeout      time.Duration `json:"cgi_timeout_ns,omitempty"`
	CGIMaxChildren  int           `json:"cgi_max_children,omitempty"`
	CGIQueueTimeout time.Duration `json:"cgi_queue_timeout_ns,omitempty"`
	// PassAuth passes the Authorization headers to CGI scripts and
	// FastCGI applications (Apache's CGIPassAuth); off by default, as
	// RFC 3875 §4.1.18 advises.
	PassAuth bool `json:"pass_auth,omitempty"`

	// FCGIAddr is the daemon's address, "unix:PATH" or "tcp:HOST:PORT";
	// "" means a unix socket in a private temporary directory.
	FCGIAddr string `json:"fcgi_addr,omitempty"`
	// FCGIDaemon is the daemon program; "" means AppBin. With
	// FCGIExternal no daemon is started and FCGIAddr names a running one.
	FCGIDaemon string `json:"fcgi_daemon,omitempty"`
	// FCGIArgs are the arguments of a user's FCGIDaemon (a `--targets`
	// fcgi-cmd: spec); nil gives the sample app its socket.
	FCGIArgs       []string      `json:"fcgi_args,omitempty"`
	FCGIExternal   bool          `json:"fcgi_external,omitempty"`
	FCGIMaxConns   int           `json:"fcgi_max_conns,omitempty"`
	FCGINoKeepConn bool          `json:"fcgi_no_keep_conn,omitempty"`
	FCGITimeout    time.Duration `json:"fcgi_timeout_ns,omitempty"`
	// FCGIParams are "NAME=VALUE" FastCGI parameters sent with every
	// request, e.g. PHP-FPM's SCRIPT_FILENAME.
	FCGIParams []string `json:"fcgi_params,omitempty"`

	// URL is the address of an "external" target.
	URL string `json:"url,omitempty"`
}

// option is one field of TargetOptions as Comparable and reports see it.
type option struct {
	name  string // the field's JSON name
	value string // "" when unset
	path  bool   // names where something is, not how it is measured
}

// RunsSampleApp reports whether the suite's target kind ("cgi", "fcgi",
// "embedded") runs the sample app under these options, rather than a
// user's CGI program or FastCGI daemon: only then may a real server
// running the sample app stand beside it as a reference.
func (o TargetOptions) RunsSampleApp(kind string) bool {
	switch kind {
	case "cgi":
		return o.CGIBin == "" || o.CGIBin == o.AppBin
	case "fcgi":
		return !o.FCGIExternal && o.FCGIArgs == nil && (o.FCGIDaemon == "" || o.FCGIDaemon == o.AppBin)
	}
	return true
}

// fields lists o's fields in declaration order.
func (o TargetOptions) fields() []option {
	d := func(v time.Duration) string {
		if v == 0 {
			return ""
		}
		return v.String()
	}
	n := func(v int) string {
		if v == 0 {
			return ""
		}
		return strconv.Itoa(v)
	}
	b := func(v bool) string {
		if !v {
			return ""
		}
		return "true"
	}
	return []option{
		{"listen", o.Listen, true},
		{"app_bin", o.AppBin, true},
		{"data_dir", o.DataDir, true},
		{"cgi_bin", o.CGIBin, true},
		{"cgi_timeout", d(o.CGITimeout), false},
		{"cgi_max_children", n(o.CGIMaxChildren), false},
		{"cgi_queue_timeout", d(o.CGIQueueTimeout), false},
		{"pass_auth", b(o.PassAuth), false},
		{"fcgi_addr", o.FCGIAddr, true},
		{"fcgi_daemon", o.FCGIDaemon, true},
		{"fcgi_args", strings.Join(o.FCGIArgs, " "), true},
		{"fcgi_external", b(o.FCGIExternal), false},
		{"fcgi_max_conns", n(o.FCGIMaxConns), false},
		{"fcgi_no_keep_conn", b(o.FCGINoKeepConn), false},
		{"fcgi_timeout", d(o.FCGITimeout), false},
		{"fcgi_params", strings.Join(o.FCGIParams, " "), false},
		{"url", o.URL, true},
	}
}

// Set returns the options that are set, as "name=value" in field order,
// for people (reports' settings line).
func (o TargetOptions) Set() []string {
	var out []string
	for _, f := range o.fields() {
		if f.value != "" {
			out = append(out, f.name+"="+f.value)
		}
	}
	return out
}

// UnmarshalJSON reads the typed form, and the form written before it: a
// map from `bench serve` flag names to their values as strings
// ("cgi-timeout": "30s").
func (o *TargetOptions) UnmarshalJSON(data []byte) error {
	type plain TargetOptions
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return fmt.Errorf("results: target options: %w", err)
	}
	var legacy map[string]string
	if err := json.Unmarshal(data, &legacy); err == nil && hasLegacyKey(legacy) {
		return o.fromFlags(legacy)
	}
	return json.Unmarshal(data, (*plain)(o))
}

func hasLegacyKey(m map[string]string) bool {
	for k := range m {
		switch k {
		case "app-bin", "data", "cgi-bin", "cgi-timeout", "cgi-max-children", "cgi-queue-timeout", "fcgi-addr",
			"fcgi-daemon", "fcgi-external", "fcgi-max-conns", "fcgi-no-keep-conn", "fcgi-timeout":
			return true
		}
	}
	return false
}

// fromFlags reads the legacy flag-name map.
func (o *TargetOptions) fromFlags(m map[string]string) error {
	*o = TargetOptions{
		Listen: m["listen"], AppBin: m["app-bin"], DataDir: m["data"], CGIBin: m["cgi-bin"],
		FCGIAddr: m["fcgi-addr"], FCGIDaemon: m["fcgi-daemon"], URL: m["url"],
		FCGIExternal: m["fcgi-external"] == "true", FCGINoKeepConn: m["fcgi-no-keep-conn"] == "true",
	}
	for key, dst := range map[string]any{
		"cgi-timeout": &o.CGITimeout, "cgi-queue-timeout": &o.CGIQueueTimeout, "fcgi-timeout": &o.FCGITimeout,
		"cgi-max-children": &o.CGIMaxChildren, "fcgi-max-conns": &o.FCGIMaxConns,
	} {
		v := m[key]
		if v == "" {
			continue
		}
		var err error
		switch d := dst.(type) {
		case *time.Duration:
			*d, err = time.ParseDuration(v)
		case *int:
			*d, err = strconv.Atoi(v)
		}
		if err != nil {
			return fmt.Errorf("results: target option %s=%q: %w", key, v, err)
		}
	}
	return nil
}
