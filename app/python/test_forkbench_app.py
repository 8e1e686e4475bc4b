"""Unit tests of the Python twin (run by verify's TestPythonTwinUnit, or
`cd app/python && python3 -m unittest test_forkbench_app`).

What the HTTP comparison with the Go app (verify/twin_test.go) reaches is
tested there, byte for byte; these cover the rest: Go's integer and escape
rules on inputs a front would not pass, WSGI input paths a CGI host does
not exercise, characters the seeded data lacks, start-up failures. The
expected values come from the Go app's own tests and Go's standard library.
"""

import io
import os
import sqlite3
import tempfile
import unittest

import forkbench_app as fa


def make_db(path, fortunes=((1, "one"),)):
    """A database with the twin's schema (not the seeded content)."""
    c = sqlite3.connect(path)
    c.execute("CREATE TABLE world (id INTEGER PRIMARY KEY, randomNumber INTEGER NOT NULL)")
    c.execute("CREATE TABLE fortune (id INTEGER PRIMARY KEY, message TEXT NOT NULL)")
    c.executemany("INSERT INTO world VALUES (?, ?)", [(i, i * 2) for i in range(1, 10001)])
    c.executemany("INSERT INTO fortune VALUES (?, ?)", fortunes)
    c.commit()
    c.close()


def call(app, method, path, query="", body=None, **extra):
    """Runs one request through a WSGI app; returns (status, headers, body)."""
    env = {"REQUEST_METHOD": method, "PATH_INFO": path, "QUERY_STRING": query,
           "wsgi.input": io.BytesIO(body or b""), "wsgi.errors": io.StringIO()}
    if body is not None:
        env["CONTENT_LENGTH"] = str(len(body))
    env.update(extra)
    got = {}

    def start_response(status, headers):
        got["status"], got["headers"] = status, dict(headers)

    out = b"".join(app(env, start_response))
    return got["status"], got["headers"], out


class GoRules(unittest.TestCase):
    def test_pcg_matches_go(self):
        # app.RandomNumber(1) == 3373 and QueryIDs(42, 3) (app_test.go).
        self.assertEqual(fa.PCG(0x666F726B62656E63, 1).intn(fa.WORLD_ROWS) + 1, 3373)
        self.assertEqual(fa.query_ids(42, 3), [8084, 1561, 6393])
        # A power of two takes the mask path, as in Go.
        a, b = fa.PCG(1, 2), fa.PCG(1, 2)
        self.assertEqual(a.intn(1024), b.uint64() & 1023)

    def test_parse_int(self):
        for s, want in [("5", (5, None)), ("+5", (5, None)), ("-0", (0, None)), ("007", (7, None)),
                        ("9223372036854775807", (2**63 - 1, None)), ("-9223372036854775808", (-2**63, None)),
                        ("9223372036854775808", (0, "range")), ("", (0, "syntax")), ("+", (0, "syntax")),
                        (" 5", (0, "syntax")), ("5_0", (0, "syntax")), ("\uff15", (0, "syntax")),
                        ("\xb2", (0, "syntax")), ("1e3", (0, "syntax")), ("5\n", (0, "syntax"))]:
            self.assertEqual(fa.parse_int(s), want, s)

    def test_parse_uint(self):
        self.assertEqual(fa.parse_uint("18446744073709551615"), 2**64 - 1)
        for s in ["18446744073709551616", "+1", "-1", "", "1 "]:
            self.assertIsNone(fa.parse_uint(s), s)

    def test_query_count(self):
        for s, want in [("", 1), ("abc", 1), ("0", 1), ("-5", 1), ("7", 7), ("+7", 7), ("501", 500),
                        ("99999999999999999999", 500), ("-99999999999999999999", 1)]:
            self.assertEqual(fa.query_count(s), want, s)

    def test_query_value(self):
        self.assertEqual(fa.query_value("i%64=%31", "id"), ("1", True))
        self.assertEqual(fa.query_value("id=a+b&id=2", "id"), ("a b", True))
        self.assertEqual(fa.query_value("x=1&&id", "id"), ("", True))
        self.assertEqual(fa.query_value("i%zz=1&id=2", "id"), ("2", True))  # bad key: skipped
        self.assertEqual(fa.query_value("", "id"), ("", False))
        self.assertEqual(fa.query_value("id=%e3%83%95", "id"), ("\xe3\x83\x95", True))  # bytes as latin-1
        for raw in ["id=%zz", "id=%4", "id=%"]:
            with self.assertRaises(fa.MalformedQuery, msg=raw):
                fa.query_value(raw, "id")

    def test_http_date(self):
        self.assertEqual(fa.http_date(1704164645), "Tue, 02 Jan 2024 03:04:05 GMT")

    def test_uri_path(self):
        from urllib.parse import quote
        for p in ["/tmp/a b/w?.db", "/x/%23#/\u00e9.db", "/plain/world.db"]:
            self.assertEqual(fa.uri_path(p), quote(p), p)

    def test_odd_database_path(self):
        with tempfile.TemporaryDirectory() as d:
            sub = os.path.join(d, "a b?#%")
            os.mkdir(sub)
            db = os.path.join(sub, "w.db")
            make_db(db)
            got = call(fa.App(db), "GET", "/db", "id=2")
            self.assertEqual(got[2], b'{"id":2,"randomNumber":4}')

    def test_payload(self):
        p = fa.payload(600)
        self.assertEqual(len(p), 600)
        self.assertTrue(all(b == i % 251 for i, b in enumerate(p)))

    def test_work_digest(self):
        self.assertEqual(fa.work_digest(0), bytes(32))
        import hashlib
        self.assertEqual(fa.work_digest(2), hashlib.sha256(hashlib.sha256(bytes(32)).digest()).digest())


class App(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.TemporaryDirectory()
        self.db = os.path.join(self.dir.name, "t.db")
        # html/template's escapes, NUL included (Go's htmlReplacementTable).
        make_db(self.db, [(1, "b<&>\"'+\x00z"), (2, "a")])
        self.app = fa.App(self.db, echo_limit=8)

    def tearDown(self):
        self.dir.cleanup()

    def test_fortunes_escapes(self):
        status, hdr, body = call(self.app, "GET", "/fortunes")
        self.assertEqual(status, "200 OK")
        self.assertIn("<tr><td>0</td><td>Additional fortune added at request time.</td></tr>"
                      "<tr><td>2</td><td>a</td></tr><tr><td>1</td><td>b&lt;&amp;&gt;&#34;&#39;&#43;\ufffdz</td></tr>",
                      body.decode())
        self.assertEqual(hdr["Content-Length"], str(len(body)))

    def test_echo(self):
        cases = [
            ("declared", dict(body=b"12345678"), "200 OK", b"12345678"),
            ("declared over, refused unread", dict(body=b"123456789"), "413 Request Entity Too Large",
             b"request body too large: limit 8 bytes\n"),
            ("no length, not terminated: no body", {"wsgi.input": io.BytesIO(b"abc")}, "200 OK", b""),
            ("terminated within", {"wsgi.input": io.BytesIO(b"abc"), "wsgi.input_terminated": True}, "200 OK", b"abc"),
            ("terminated over", {"wsgi.input": io.BytesIO(b"123456789"), "wsgi.input_terminated": True},
             "413 Request Entity Too Large", b"request body too large: limit 8 bytes\n"),
            ("short body", {"CONTENT_LENGTH": "5", "wsgi.input": io.BytesIO(b"abc")}, "400 Bad Request",
             b"bad request: reading body failed\n"),
            ("bad length", {"CONTENT_LENGTH": "x"}, "400 Bad Request", b"bad request: reading body failed\n"),
        ]
        for name, kw, status, body in cases:
            with self.subTest(name):
                kw = dict(kw)
                b = kw.pop("body", None)
                got = call(self.app, "POST", "/echo", body=b, **kw)
                self.assertEqual((got[0], got[2]), (status, body))

    def test_read_error_is_400(self):
        class Broken:
            def read(self, n):
                raise OSError("boom")
        got = call(self.app, "POST", "/echo", CONTENT_LENGTH="3", **{"wsgi.input": Broken()})
        self.assertEqual((got[0], got[2]), ("400 Bad Request", b"bad request: reading body failed\n"))

    def test_missing_row_is_500(self):
        db = os.path.join(self.dir.name, "holey.db")
        make_db(db)
        c = sqlite3.connect(db)
        c.execute("DELETE FROM world WHERE id = 7")
        c.commit()
        c.close()
        app = fa.App(db)
        got = call(app, "GET", "/db", "id=7")
        self.assertEqual((got[0], got[2]), ("500 Internal Server Error", b"internal server error\n"))

    def test_headers_in_go_order(self):
        _, hdr, _ = call(self.app, "DELETE", "/json")
        self.assertEqual(list(hdr), ["Allow", "Content-Length", "Content-Type", "Date", "Server"])


class Startup(unittest.TestCase):
    def test_bad_databases(self):
        with tempfile.TemporaryDirectory() as d:
            text = os.path.join(d, "text.db")
            with open(text, "w") as f:
                f.write("this is not a database, just some text padding it out")
            missing = os.path.join(d, "missing.db")
            for path in ["", missing, text]:
                with self.subTest(path), self.assertRaises(Exception):
                    fa.App(path)
            self.assertFalse(os.path.exists(missing), "a read-only open must not create the file")

    def test_application_without_database(self):
        old = os.environ.pop("FORKBENCH_DB", None)
        try:
            got = call(fa.application, "GET", "/plaintext")
        finally:
            if old is not None:
                os.environ["FORKBENCH_DB"] = old
        self.assertEqual((got[0], got[2]), ("500 Internal Server Error", b"internal server error\n"))

    def test_application_db_from_environ(self):
        with tempfile.TemporaryDirectory() as d:
            db = os.path.join(d, "w.db")
            make_db(db)
            got = call(fa.application, "GET", "/db", "id=3", FORKBENCH_DB=db)
            self.assertEqual((got[0], got[2]), ("200 OK", b'{"id":3,"randomNumber":6}'))


if __name__ == "__main__":
    unittest.main()
