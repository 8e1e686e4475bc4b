// Package gateway holds the pieces of CGI/1.1 (RFC 3875) that every gateway
// front needs, whichever transport carries them: the request meta-variables
// a script receives (Env) and the parser for the response head a script
// writes back (ReadResponseHeader).
//
// The CGI host (targets/cgi) passes the meta-variables as the child's
// environment and reads the head from its stdout; the FastCGI front sends
// them as FCGI_PARAMS and reads the head from FCGI_STDOUT. Keeping both in
// one place means the two deployments hand the application byte-for-byte the
// same request, so only the transport differs between them.
//
// Limits: local redirects (RFC 3875 §6.2.2, a Location that is a path with no
// Status) are not supported; such a response is sent to the client as a 302.
// Request header names containing anything other than letters, digits and
// '-' are not passed to the script (see Env).
package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
)

// Config describes how a script is mounted; its zero value mounts the script
// at "/" with no SCRIPT_FILENAME.
type Config struct {
	// ScriptName is SCRIPT_NAME, the URL prefix the script is mounted at.
	// "" means the script is mounted at "/", so PATH_INFO is the whole
	// request path. A trailing slash is ignored.
	ScriptName string
	// ScriptFilename is SCRIPT_FILENAME. RFC 3875 does not define it, but
	// FastCGI responders such as php-fpm use it to find the script. ""
	// omits it.
	ScriptFilename string
	// ServerSoftware is SERVER_SOFTWARE; "" means "forkbench".
	ServerSoftware string
	// Extra are additional "K=V" pairs appended after the meta-variables
	// (e.g. FORKBENCH_DB=...). Because they come last they win over a
	// meta-variable of the same name wherever the last duplicate wins, as
	// it does in os/exec.
	Extra []string
	// PassAuth passes the Authorization and Proxy-Authorization request
	// headers to the script as HTTP_AUTHORIZATION and
	// HTTP_PROXY_AUTHORIZATION. RFC 3875 §4.1.18 says a server SHOULD NOT
	// (checking credentials is the front's job, and every script would see
	// every user's password), so false, the zero value, withholds them, as
	// Apache does without CGIPassAuth On.
	PassAuth bool
	// MaxEnvBytes bounds the meta-variables of one request (Extra
	// included), counted as exec counts an environment: each "K=V" plus
	// its NUL terminator. 0 means DefaultMaxEnvBytes. EnvFor refuses a
	// larger one with ErrEnvTooLarge (431) instead of letting the fork fail
	// with E2BIG.
	MaxEnvBytes int
}

// DefaultMaxEnvBytes is the default Config.MaxEnvBytes. Linux refuses to
// exec with any single variable of 128 KiB or more (MAX_ARG_STRLEN), so
// a total below that can always be passed.
const DefaultMaxEnvBytes = 128<<10 - 1

// Errors of EnvFor, each answered with its own status by Status.
var (
	// ErrNotMounted means the request path is not SCRIPT_NAME or below it
	// on a path-segment boundary (404 Not Found).
	ErrNotMounted = errors.New("gateway: request path is not under SCRIPT_NAME")
	// ErrNULByte means a meta-variable would hold a NUL byte (e.g. a path
	// with %00), which no environment can carry (400 Bad Request).
	ErrNULByte = errors.New("gateway: NUL byte in a meta-variable")
	// ErrEnvTooLarge means the meta-variables exceed MaxEnvBytes (431
	// Request Header Fields Too Large).
	ErrEnvTooLarge = errors.New("gateway: meta-variables too large")
)

// EnvFor is Env plus the checks a front must make before it forks a
// script or sends FastCGI params, so that a request no script could be
// given is refused the same way on every deployment, before any process is
// started: a path not under ScriptName (ErrNotMounted), a NUL byte in any
// variable (ErrNULByte), or more than MaxEnvBytes (ErrEnvTooLarge). Status
// maps each error to the status to answer with.
func EnvFor(r *http.Request, c Config) ([]string, error) {
	if _, ok := splitScript(r.URL.Path, c.ScriptName); !ok {
		return nil, fmt.Errorf("%w: %q is not under %q", ErrNotMounted, r.URL.Path, c.ScriptName)
	}
	env := Env(r, c)
	limit := c.MaxEnvBytes
	if limit <= 0 {
		limit = DefaultMaxEnvBytes
	}
	total := 0
	for _, kv := range env {
		if i := strings.IndexByte(kv, 0); i >= 0 {
			name, _, _ := strings.Cut(kv, "=")
			return nil, fmt.Errorf("%w: %s", ErrNULByte, name)
		}
		total += len(kv) + 1
	}
	if total > limit {
		return nil, fmt.Errorf("%w: %d bytes, limit %d", ErrEnvTooLarge, total, limit)
	}
	return env, nil
}

// splitScript returns PATH_INFO for path under the script root: the root
// must match whole path segments, so "/app" covers "/app" and "/app/x" but
// not "/application".
func splitScript(path, scriptName string) (pathInfo string, ok bool) {
	root := strings.TrimRight(scriptName, "/")
	rest, found := strings.CutPrefix(path, root)
	if !found || (rest != "" && rest[0] != '/') {
		return path, false
	}
	return rest, true
}

// numFixed is the number of meta-variables Env may emit besides one per
// request header and the Extra pairs; it only sizes the result up front.
const numFixed = 20

// Env returns the RFC 3875 meta-variables for r as "K=V" pairs, in the form
// os/exec takes as an environment and FastCGI sends as parameters.
//
// Besides the variables of RFC 3875 §4.1 it emits REQUEST_URI, REMOTE_PORT
// and, for a TLS request, HTTPS=on, which scripts commonly expect, and one
// HTTP_* variable per request header (name upper-cased, '-' replaced by '_',
// values joined by ", ", or "; " for Cookie). Host becomes HTTP_HOST.
//
// Some request headers are withheld, for safety:
//   - Authorization and Proxy-Authorization, unless PassAuth is set;
//   - Proxy, which would become HTTP_PROXY, the variable most HTTP clients
//     read their proxy from (the "httpoxy" attack, CVE-2016-5385);
//   - any header whose name has a character other than a letter, digit or
//     '-' (e.g. "X_Forwarded_For"), because after the '-' → '_' mapping it
//     would be indistinguishable from, and could overwrite, a header the
//     front itself vouches for. Apache httpd and nginx drop them too.
//
// CONTENT_LENGTH is set only for a body of known, non-zero length: a gateway
// must not pass a body of unknown length to a CGI script (BodyPolicy gives
// every body a length first).
//
// Env does not check the request; a front calls EnvFor, which does. For a
// path not under ScriptName (which EnvFor refuses), PATH_INFO is the whole
// path.
func Env(r *http.Request, c Config) []string {
	env := make([]string, 0, numFixed+len(r.Header)+len(c.Extra))

	software := c.ServerSoftware
	if software == "" {
		software = "forkbench"
	}
	root := strings.TrimRight(c.ScriptName, "/")
	pathInfo, _ := splitScript(r.URL.Path, root)
	serverName, serverPort := serverAddr(r)

	env = append(env,
		"GATEWAY_INTERFACE=CGI/1.1",
		"SERVER_SOFTWARE="+software,
		"SERVER_NAME="+serverName,
		"SERVER_PORT="+serverPort,
		"SERVER_PROTOCOL="+protocol(r),
		"REQUEST_METHOD="+r.Method,
		"QUERY_STRING="+r.URL.RawQuery,
		"REQUEST_URI="+r.URL.RequestURI(),
		"SCRIPT_NAME="+root,
		"PATH_INFO="+pathInfo,
	)
	if c.ScriptFilename != "" {
		env = append(env, "SCRIPT_FILENAME="+c.ScriptFilename)
	}
	if ip, port, err := net.SplitHostPort(r.RemoteAddr); err == nil {
		env = append(env, "REMOTE_ADDR="+ip, "REMOTE_HOST="+ip, "REMOTE_PORT="+port)
	} else {
		// Not ip:port (e.g. a unix socket peer): pass it whole and leave
		// REMOTE_PORT undefined rather than invent one.
		env = append(env, "REMOTE_ADDR="+r.RemoteAddr, "REMOTE_HOST="+r.RemoteAddr)
	}
	if r.ContentLength > 0 {
		env = append(env, "CONTENT_LENGTH="+strconv.FormatInt(r.ContentLength, 10))
	}
	if ct := r.Header.Get("Content-Type"); ct != "" {
		env = append(env, "CONTENT_TYPE="+ct)
	}
	if r.TLS != nil {
		env = append(env, "HTTPS=on")
	}
	if r.Host != "" {
		env = append(env, "HTTP_HOST="+r.Host)
	}
	for k, vv := range r.Header {
		name, ok := headerVar(k)
		if !ok || (!c.PassAuth && (name == "HTTP_AUTHORIZATION" || name == "HTTP_PROXY_AUTHORIZATION")) {
			continue
		}
		sep := ", "
		if name == "HTTP_COOKIE" {
			sep = "; " // RFC 6265 §5.4: cookie-pairs are joined by "; "
		}
		var v string
		if len(vv) == 1 {
			v = vv[0]
		} else {
			v = strings.Join(vv, sep)
		}
		env = append(env, name+"="+v)
	}
	return append(env, c.Extra...)
}

// headerVar maps a request header name to its HTTP_* meta-variable, or
// reports false for a header that must not reach the script (see Env).
func headerVar(k string) (string, bool) {
	if k == "" || strings.EqualFold(k, "Proxy") || strings.EqualFold(k, "Host") {
		// Host is carried by r.Host, not r.Header, in server requests; a
		// Host key in r.Header would only duplicate HTTP_HOST.
		return "", false
	}
	b := make([]byte, len("HTTP_")+len(k))
	copy(b, "HTTP_")
	for i := 0; i < len(k); i++ {
		c := k[i]
		switch {
		case c >= 'a' && c <= 'z':
			c -= 'a' - 'A'
		case c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-':
			c = '_'
		default:
			return "", false
		}
		b[len("HTTP_")+i] = c
	}
	return string(b), true
}

// serverAddr returns SERVER_NAME and SERVER_PORT: from the Host the client
// asked for, as RFC 3875 §4.1.14 prefers, then from the local address the
// request arrived on, then the scheme's default port.
func serverAddr(r *http.Request) (name, port string) {
	if h, p, err := net.SplitHostPort(r.Host); err == nil && isDigits(p) {
		return h, p
	}
	name = r.Host
	if la, ok := localAddr(r.Context()); ok {
		if h, p, err := net.SplitHostPort(la); err == nil {
			if name == "" {
				name = h
			}
			return name, p
		}
	}
	if r.TLS != nil {
		return name, "443"
	}
	return name, "80"
}

func localAddr(ctx context.Context) (string, bool) {
	a, ok := ctx.Value(http.LocalAddrContextKey).(net.Addr)
	if !ok || a == nil {
		return "", false
	}
	return a.String(), true
}

func protocol(r *http.Request) string {
	if r.Proto != "" {
		return r.Proto
	}
	return "HTTP/1.1" // a hand-built request without Proto
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
