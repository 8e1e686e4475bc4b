"""Stand-in for the Python twin (app/python/forkbench_app.py), used by the
targets/fronts tests only while the real twin is absent: it answers
/plaintext and /json as the Go app does and checks that FORKBENCH_DB
reaches it. It is not the twin; the tests say which one they ran."""

import os

HELLO = b"Hello, World!"
JSON = b'{"message":"Hello, World!"}'


def application(environ, start_response):
    db = os.environ.get("FORKBENCH_DB") or environ.get("FORKBENCH_DB")
    if not db or not os.path.exists(db):
        body = b"no database\n"
        start_response("500 Internal Server Error", [("Content-Type", "text/plain; charset=utf-8"),
                                                     ("Content-Length", str(len(body)))])
        return [body]
    path = environ.get("PATH_INFO", "")
    if path == "/plaintext":
        body, ctype = HELLO, "text/plain"
    elif path == "/json":
        body, ctype = JSON, "application/json"
    else:
        body = b"404 page not found\n"
        start_response("404 Not Found", [("Content-Type", "text/plain; charset=utf-8"),
                                         ("Content-Length", str(len(body)))])
        return [body]
    start_response("200 OK", [("Server", "forkbench"), ("Content-Type", ctype),
                              ("Content-Length", str(len(body)))])
    return [body]
