#!/usr/bin/env python3
"""Serve forkbench's Python twin over HTTP with wsgiref.simple_server, for
tests and for a quick look (it is not a deployment that is benchmarked).

    forkbench_serve.py [--listen 127.0.0.1:0] [--db PATH]

The database is --db, else $FORKBENCH_DB. Once it accepts connections it
prints one line, "listening on http://HOST:PORT" with the port actually
bound, and nothing else on stdout; it stops on SIGTERM or SIGINT and exits 0.
Loopback only: a non-loopback --listen is refused.
"""

import argparse
import ipaddress
import os
import signal
import socket
import socketserver
import sys
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import forkbench_app  # noqa: E402

# How much of a request body nobody read (an /echo refused up front) is
# drained before the connection is closed, and for how long.
LINGER_BYTES = 32 << 20
LINGER_SECONDS = 2.0


class Server(socketserver.ThreadingMixIn, WSGIServer):
    daemon_threads = True

    def server_bind(self):
        """HTTPServer.server_bind without its socket.getfqdn: a reverse DNS
        lookup of a loopback address is slow and says nothing."""
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]
        self.setup_environ()

    def shutdown_request(self, request):
        """A lingering close, as Go's and Apache's servers do: closing a
        socket with unread request bytes makes the kernel send RST, which can
        destroy the response before the client has read it."""
        try:
            request.shutdown(socket.SHUT_WR)
            request.settimeout(LINGER_SECONDS)
            drained = 0
            while drained < LINGER_BYTES:
                b = request.recv(1 << 16)
                if not b:
                    break
                drained += len(b)
        except OSError:
            pass
        self.close_request(request)


class Handler(WSGIRequestHandler):
    def parse_request(self):
        """http.server collapses a leading "//" in the path (a guard for
        its file server's redirects); the app gets the path as sent, as it
        does from Go's server, so "//plaintext" is a 404 here too."""
        ok = super().parse_request()
        words = self.requestline.split()
        if ok and len(words) >= 2:
            self.path = words[1]
        return ok

    def log_message(self, format, *args):  # no access log
        pass


def main(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--listen", default="127.0.0.1:0", help="HOST:PORT (loopback only)")
    p.add_argument("--db", default=os.environ.get("FORKBENCH_DB", ""), help="SQLite file (default $FORKBENCH_DB)")
    args = p.parse_args(argv)
    host, _, port = args.listen.rpartition(":")
    host = host.strip("[]")
    try:
        if not ipaddress.ip_address(host).is_loopback:
            p.error("--listen %s: not a loopback address" % args.listen)
        port = int(port)
    except ValueError as e:
        p.error("--listen %s: %s" % (args.listen, e))
    if not args.db:
        p.error("no database: give --db or set FORKBENCH_DB")
    os.environ["FORKBENCH_DB"] = args.db
    try:
        forkbench_app.App(args.db)  # fail now, not on the first request
    except Exception as e:
        print("forkbench_serve: %s: %s" % (args.db, e), file=sys.stderr)
        return 1

    if ":" in host:
        Server.address_family = socket.AF_INET6
    srv = make_server(host, port, forkbench_app.application, server_class=Server, handler_class=Handler)

    def stop(signum, frame):
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    h, prt = srv.server_address[:2]
    print("listening on http://%s:%d" % ("[%s]" % h if ":" in h else h, prt), flush=True)
    try:
        srv.serve_forever()
    except SystemExit:
        pass
    finally:
        srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
