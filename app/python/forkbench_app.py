"""The Python twin of forkbench's sample app (forkbench/app), as a WSGI app.

It answers the same endpoints as the Go app with byte-identical responses
(status, headers, body) apart from the value of the Date header, so that a
figure comparing a Python deployment with a Go one compares deployments and
not two different answers. `bench verify` (verify.CompareDeployments)
checks this on every endpoint case.

Deployments: mod_wsgi (WSGIScriptAlias to this file) and uWSGI
(--wsgi-file) import it and call `application`; forkbench_cgi.py runs it as
a CGI program through wsgiref.handlers.CGIHandler.

The database is the SQLite file the Go app seeds (`sampleapp -seed PATH`),
opened read-only; its path is FORKBENCH_DB, taken from the WSGI environ
first (Apache SetEnv, uWSGI --env both work), then from os.environ.

Standard library only, and only what a request needs is imported at start
(hashlib on the first /work), because a CGI child pays its imports on every
request: that start-up is what a py-cgi figure measures.

Limits are the Go app's defaults (app.Default*), enforced, never trimmed.
"""

import os
import sqlite3
import sys
import threading
import time

SERVER_NAME = "forkbench"
HELLO_WORLD = b"Hello, World!"
JSON_BODY = b'{"message":"Hello, World!"}'

DEFAULT_ECHO_LIMIT = 1 << 20
DEFAULT_MAX_BYTES = 16 << 20
DEFAULT_MAX_WORK = 1_000_000
DEFAULT_MAX_SLEEP_MS = 10_000
MAX_QUERIES = 500
WORLD_ROWS = 10_000

ADDITIONAL_FORTUNE = "Additional fortune added at request time."
PAYLOAD_PERIOD = 251
PAYLOAD_CHUNK = PAYLOAD_PERIOD * 256  # the Go app's write size for /bytes

CT_TEXT = "text/plain; charset=utf-8"
CT_PLAIN = "text/plain"
CT_JSON = "application/json"
CT_HTML = "text/html; charset=utf-8"
CT_OCTET = "application/octet-stream"

# Go's http.StatusText for every status the app sends.
STATUS = {
    200: "200 OK",
    400: "400 Bad Request",
    404: "404 Not Found",
    405: "405 Method Not Allowed",
    413: "413 Request Entity Too Large",
    500: "500 Internal Server Error",
}

_M64 = (1 << 64) - 1
_M128 = (1 << 128) - 1
_INT64_MIN, _INT64_MAX = -(1 << 63), (1 << 63) - 1

# ---------------------------------------------------------------------------
# Go's math/rand/v2 PCG-DXSM and Rand.IntN, bit for bit: /queries?seed=S must
# read the same ids as the Go app (app.QueryIDs).

_PCG_MUL = (2549297995355413924 << 64) | 4865540595714422341
_PCG_INC = (6364136223846793005 << 64) | 1442695040888963407
_CHEAP_MUL = 0xDA942042E4DD58B5
_QUERIES_STREAM = 0x7175657269657321  # "queries!"


class PCG:
    """Go's rand.NewPCG(seed1, seed2): a 128-bit LCG with the DXSM output."""

    __slots__ = ("state",)

    def __init__(self, seed1, seed2):
        self.state = ((seed1 & _M64) << 64) | (seed2 & _M64)

    def uint64(self):
        s = (self.state * _PCG_MUL + _PCG_INC) & _M128
        self.state = s
        hi, lo = s >> 64, s & _M64
        hi ^= hi >> 32
        hi = (hi * _CHEAP_MUL) & _M64
        hi ^= hi >> 48
        return (hi * (lo | 1)) & _M64

    def intn(self, n):
        """Go's Rand.IntN(n) on 64-bit: Lemire's multiply with rejection."""
        if n & (n - 1) == 0:
            return self.uint64() & (n - 1)
        prod = self.uint64() * n
        if prod & _M64 < n:
            thresh = ((1 << 64) - n) % n
            while prod & _M64 < thresh:
                prod = self.uint64() * n
        return prod >> 64


def query_ids(seed, n):
    """The world ids /queries?n=N&seed=S reads (app.QueryIDs)."""
    r = PCG(seed, _QUERIES_STREAM)
    return [r.intn(WORLD_ROWS) + 1 for _ in range(n)]


# ---------------------------------------------------------------------------
# Query strings and integers exactly as the Go app reads them. PEP 3333
# strings carry bytes as latin-1, and so does everything here.


class MalformedQuery(ValueError):
    """A value with a bad %-escape (Go's url.EscapeError)."""


_HEX = frozenset("0123456789abcdefABCDEF")


def query_unescape(s):
    """Go's url.QueryUnescape: '+' is a space, '%' needs two hex digits."""
    if "%" not in s:
        return s.replace("+", " ")
    out, i, n = [], 0, len(s)
    while i < n:
        c = s[i]
        if c == "%":
            if i + 2 >= n or s[i + 1] not in _HEX or s[i + 2] not in _HEX:
                raise MalformedQuery(s[i:i + 3])
            out.append(chr(int(s[i + 1:i + 3], 16)))
            i += 3
            continue
        out.append(" " if c == "+" else c)
        i += 1
    return "".join(out)


def query_value(raw, key):
    """The first value of key in raw, as Go's app.queryValue: (value, present).

    Raises MalformedQuery when the value (not a key) has a bad escape.
    """
    for pair in raw.split("&"):
        k, _, v = pair.partition("=")
        if k != key:
            if "%" not in k and "+" not in k:
                continue
            try:
                if query_unescape(k) != key:
                    continue
            except MalformedQuery:
                continue
        if "%" in v or "+" in v:
            v = query_unescape(v)
        return v, True
    return "", False


def _digits(s):
    return s != "" and s.isascii() and s.isdigit()


def parse_int(s):
    """Go's strconv.ParseInt(s, 10, 64): returns (n, err), err being None,
    "syntax" or "range" (an in-syntax value outside int64)."""
    body = s[1:] if s[:1] in ("+", "-") else s
    if not _digits(body):
        return 0, "syntax"
    n = int(body)
    if s[0] == "-":
        n = -n
    if n < _INT64_MIN or n > _INT64_MAX:
        return 0, "range"
    return n, None


def parse_uint(s):
    """Go's strconv.ParseUint(s, 10, 64), None when it fails."""
    if not _digits(s):
        return None
    n = int(s)
    return n if n <= _M64 else None


def query_count(s):
    """TechEmpower's /queries?n clamping, as the Go app's queryCount."""
    n, err = parse_int(s)
    if err == "range" and s[0] != "-":
        return MAX_QUERIES
    if err is not None or n < 1:
        return 1
    return min(n, MAX_QUERIES)


def int_param(raw, key, limit):
    """A required integer parameter in [0, limit], or None (Go's intParam)."""
    try:
        s, ok = query_value(raw, key)
    except MalformedQuery:
        return None
    if not ok:
        return None
    n, err = parse_int(s)
    if err is not None or n < 0 or n > limit:
        return None
    return n


# ---------------------------------------------------------------------------
# The fortunes page: Go's html/template output for app.FortunesTemplate.

_HTML_ESCAPES = {0: "\ufffd", ord('"'): "&#34;", ord("&"): "&amp;", ord("'"): "&#39;",
                 ord("+"): "&#43;", ord("<"): "&lt;", ord(">"): "&gt;"}

_FORTUNES_HEAD = ("<!DOCTYPE html><html><head><title>Fortunes</title></head><body><table>"
                  "<tr><th>id</th><th>message</th></tr>")
_FORTUNES_TAIL = "</table></body></html>"


def render_fortunes(rows):
    """rows: (id, message) pairs, already sorted."""
    parts = [_FORTUNES_HEAD]
    for fid, msg in rows:
        parts.append("<tr><td>%d</td><td>%s</td></tr>" % (fid, msg.translate(_HTML_ESCAPES)))
    parts.append(_FORTUNES_TAIL)
    return "".join(parts).encode("utf-8")


_URI_SAFE = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789/-._~")


def uri_path(path):
    """path %-escaped for a SQLite file: URI (urllib.parse.quote would do,
    but importing it is a tenth of a CGI child's start-up)."""
    return "".join(chr(b) if b in _URI_SAFE else "%%%02X" % b for b in os.fsencode(path))


def payload(n):
    """The first n bytes of the /bytes payload: byte i is i % 251."""
    period = bytes(range(PAYLOAD_PERIOD))
    return (period * (n // PAYLOAD_PERIOD + 1))[:n]


def work_digest(n):
    """n chained SHA-256 rounds from 32 zero bytes (app.WorkDigest)."""
    import hashlib  # only /work needs it; a CGI child should not pay for it

    sha256 = hashlib.sha256
    d = bytes(32)
    for _ in range(n):
        d = sha256(d).digest()
    return d


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def http_date(t=None):
    """Go's http.TimeFormat: "Mon, 02 Jan 2006 15:04:05 GMT"."""
    g = time.gmtime(t)
    return "%s, %02d %s %04d %02d:%02d:%02d GMT" % (
        _DAYS[g.tm_wday], g.tm_mday, _MONTHS[g.tm_mon - 1], g.tm_year, g.tm_hour, g.tm_min, g.tm_sec)


# ---------------------------------------------------------------------------
# Response plumbing (app/response.go).


def respond(environ, start_response, status, ctype, body, extra=()):
    """A complete response, headers in the Go CGI child's order (sorted by
    name), no body for HEAD."""
    headers = list(extra)
    headers += [("Content-Length", str(len(body))), ("Content-Type", ctype),
                ("Date", http_date()), ("Server", SERVER_NAME)]
    start_response(STATUS[status], headers)
    if environ.get("REQUEST_METHOD") == "HEAD" or not body:
        return []
    return [body]


def text(environ, start_response, status, body, extra=()):
    """respond for a short text/plain body (errors, mostly)."""
    return respond(environ, start_response, status, CT_TEXT, body, extra)


def internal_error(environ, start_response, err):
    """500, with err logged to wsgi.errors (the Go app's Logf)."""
    errors = environ.get("wsgi.errors") or sys.stderr
    try:
        errors.write("forkbench_app: %s %s: %r\n" % (
            environ.get("REQUEST_METHOD"), environ.get("PATH_INFO"), err))
        errors.flush()
    except Exception:
        pass
    return text(environ, start_response, 500, b"internal server error\n")


# ---------------------------------------------------------------------------
# The application.


class App:
    """The sample app over one read-only database. Thread-safe: each thread
    gets its own SQLite connection (mod_wsgi and uWSGI may run threads)."""

    def __init__(self, db_path, echo_limit=DEFAULT_ECHO_LIMIT, max_bytes=DEFAULT_MAX_BYTES,
                 max_work=DEFAULT_MAX_WORK, max_sleep_ms=DEFAULT_MAX_SLEEP_MS):
        if not db_path:
            raise ValueError("forkbench_app: no database: set FORKBENCH_DB")
        self.db_path = os.path.abspath(db_path)
        self.echo_limit = echo_limit
        self.max_bytes = max_bytes
        self.max_work = max_work
        self.max_sleep_ms = max_sleep_ms
        self.local = threading.local()
        self.rng = PCG(int.from_bytes(os.urandom(8), "little"), int.from_bytes(os.urandom(8), "little"))
        self.rng_lock = threading.Lock()
        self.chunk = payload(PAYLOAD_CHUNK)
        self.routes = {
            "/plaintext": ("GET, HEAD", self.plaintext),
            "/json": ("GET, HEAD", self.json),
            "/db": ("GET, HEAD", self.db_one),
            "/queries": ("GET, HEAD", self.queries),
            "/fortunes": ("GET, HEAD", self.fortunes),
            "/echo": ("POST", self.echo),
            "/work": ("GET, HEAD", self.work),
            "/sleep": ("GET, HEAD", self.sleep),
            "/bytes": ("GET, HEAD", self.bytes),
        }
        self.conn()  # as app.New: a missing or malformed database fails here

    def conn(self):
        """This thread's connection, opened read-only like the Go app's:
        mode=ro (a missing file is an error, not a new database) and
        locking_mode=EXCLUSIVE (the shared lock is taken once and kept)."""
        c = getattr(self.local, "conn", None)
        if c is None:
            c = sqlite3.connect("file:%s?mode=ro" % uri_path(self.db_path), uri=True,
                                isolation_level=None, check_same_thread=False)
            try:
                c.execute("PRAGMA locking_mode=EXCLUSIVE")
                # Reads the schema, as the Go app's prepared statements do.
                c.execute("SELECT randomNumber FROM world WHERE id = 0").fetchall()
                c.execute("SELECT id, message FROM fortune WHERE 0").fetchall()
            except Exception:
                c.close()
                raise
            self.local.conn = c
        return c

    def __call__(self, environ, start_response):
        method = environ.get("REQUEST_METHOD", "GET")
        route = self.routes.get(environ.get("PATH_INFO", "") or "/")
        try:
            if route is None:
                return self.text(environ, start_response, 404, b"not found\n")
            allow, handler = route
            if allow == "POST":
                allowed = method == "POST"
            else:
                allowed = method in ("GET", "HEAD")
            if allowed:
                return handler(environ, start_response)
            return self.text(environ, start_response, 405, b"method not allowed\n", [("Allow", allow)])
        except Exception as e:  # app.Recover: a 500 for this request only
            return self.internal_error(environ, start_response, e)

    def text(self, environ, start_response, status, body, extra=()):
        return text(environ, start_response, status, body, extra)

    def bad_request(self, environ, start_response, reason):
        return text(environ, start_response, 400, b"bad request: " + reason.encode() + b"\n")

    def internal_error(self, environ, start_response, err):
        return internal_error(environ, start_response, err)

    # --- endpoints (app/handlers.go) ---

    def plaintext(self, environ, start_response):
        return respond(environ, start_response, 200, CT_PLAIN, HELLO_WORLD)

    def json(self, environ, start_response):
        return respond(environ, start_response, 200, CT_JSON, JSON_BODY)

    def world(self, c, wid):
        row = c.execute("SELECT randomNumber FROM world WHERE id = ?", (wid,)).fetchone()
        if row is None:
            raise LookupError("world row %d not found" % wid)
        return '{"id":%d,"randomNumber":%d}' % (wid, row[0])

    def random_id(self):
        with self.rng_lock:
            return self.rng.intn(WORLD_ROWS) + 1

    def db_one(self, environ, start_response):
        try:
            s, ok = query_value(environ.get("QUERY_STRING", ""), "id")
        except MalformedQuery:
            return self.bad_request(environ, start_response, "id: malformed query")
        if ok:
            wid, err = parse_int(s)
            if err is not None or wid < 1 or wid > WORLD_ROWS:
                return self.bad_request(environ, start_response, "id must be an integer in 1..%d" % WORLD_ROWS)
        else:
            wid = self.random_id()
        body = self.world(self.conn(), wid).encode()
        return respond(environ, start_response, 200, CT_JSON, body)

    def queries(self, environ, start_response):
        raw = environ.get("QUERY_STRING", "")
        try:
            s, _ = query_value(raw, "n")
        except MalformedQuery:
            s = ""  # unreadable counts as missing: TechEmpower clamps, never refuses
        n = query_count(s)
        try:
            seed, ok = query_value(raw, "seed")
        except MalformedQuery:
            return self.bad_request(environ, start_response, "seed: malformed query")
        if ok:
            v = parse_uint(seed)
            if v is None:
                return self.bad_request(environ, start_response, "seed must be an unsigned 64-bit integer")
            ids = query_ids(v, n)
        else:
            ids = [self.random_id() for _ in range(n)]
        c = self.conn()
        body = ("[" + ",".join([self.world(c, i) for i in ids]) + "]").encode()
        return respond(environ, start_response, 200, CT_JSON, body)

    def fortunes(self, environ, start_response):
        rows = self.conn().execute("SELECT id, message FROM fortune").fetchall()
        rows.append((0, ADDITIONAL_FORTUNE))
        # Go compares strings bytewise; UTF-8 order is code point order.
        rows.sort(key=lambda r: r[1])
        return respond(environ, start_response, 200, CT_HTML, render_fortunes(rows))

    def too_large(self, environ, start_response):
        return self.text(environ, start_response, 413,
                         b"request body too large: limit %d bytes\n" % self.echo_limit)

    def echo(self, environ, start_response):
        cl = environ.get("CONTENT_LENGTH", "")
        if cl:
            length, err = parse_int(cl)
            if err is not None or length < 0:
                return self.bad_request(environ, start_response, "reading body failed")
            if length > self.echo_limit:
                return self.too_large(environ, start_response)  # refused up front, unread
            want, exact = length, True
        elif environ.get("wsgi.input_terminated"):
            want, exact = self.echo_limit + 1, False  # unknown length: read to the end, bounded
        else:
            want, exact = 0, True  # no length, no terminated input: no body (as a CGI child)
        body = b""
        if want > 0:
            body = self.read_body(environ["wsgi.input"], want)
            if body is None or (exact and len(body) != want):
                return self.bad_request(environ, start_response, "reading body failed")
            if len(body) > self.echo_limit:
                return self.too_large(environ, start_response)
        return respond(environ, start_response, 200, CT_OCTET, body)

    @staticmethod
    def read_body(inp, want):
        """Up to want bytes of inp; fewer only at its end. None on error."""
        parts, got = [], 0
        try:
            while got < want:
                b = inp.read(min(want - got, 1 << 16))
                if not b:
                    break
                parts.append(b)
                got += len(b)
        except (OSError, ValueError):
            return None
        return b"".join(parts)

    def work(self, environ, start_response):
        n = int_param(environ.get("QUERY_STRING", ""), "n", self.max_work)
        if n is None:
            return self.bad_request(environ, start_response, "n must be an integer in 0..%d" % self.max_work)
        body = work_digest(n).hex().encode() + b"\n"
        return self.text(environ, start_response, 200, body)

    def sleep(self, environ, start_response):
        ms = int_param(environ.get("QUERY_STRING", ""), "ms", self.max_sleep_ms)
        if ms is None:
            return self.bad_request(environ, start_response, "ms must be an integer in 0..%d" % self.max_sleep_ms)
        time.sleep(ms / 1000)
        return self.text(environ, start_response, 200, b"slept %d ms\n" % ms)

    def bytes(self, environ, start_response):
        n = int_param(environ.get("QUERY_STRING", ""), "n", self.max_bytes)
        if n is None:
            return self.bad_request(environ, start_response, "n must be an integer in 0..%d" % self.max_bytes)
        start_response(STATUS[200], [("Content-Length", str(n)), ("Content-Type", CT_OCTET),
                                     ("Date", http_date()), ("Server", SERVER_NAME)])
        if environ.get("REQUEST_METHOD") == "HEAD":
            return []
        return self.chunks(n)

    def chunks(self, n):
        chunk = self.chunk
        while n > 0:
            k = min(n, len(chunk))
            yield chunk if k == len(chunk) else chunk[:k]
            n -= k


# ---------------------------------------------------------------------------
# The WSGI entry point.

_apps = {}
_apps_lock = threading.Lock()


def _app_for(db_path):
    """The App for db_path, started on first use (FORKBENCH_DB may come with
    the first request's environ, so nothing is opened at import)."""
    a = _apps.get(db_path)
    if a is None:
        with _apps_lock:
            a = _apps.get(db_path)
            if a is None:
                a = _apps[db_path] = App(db_path)
    return a


def application(environ, start_response):
    """The WSGI callable mod_wsgi, uWSGI and CGIHandler run."""
    db_path = environ.get("FORKBENCH_DB") or os.environ.get("FORKBENCH_DB", "")
    try:
        a = _app_for(db_path)
    except Exception as e:
        # No app, no request: report it as the Go app's CGI child would not
        # start, but still answer in the app's own format.
        return internal_error(environ, start_response, e)
    return a(environ, start_response)
