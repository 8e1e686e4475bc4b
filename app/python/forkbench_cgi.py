#!/usr/bin/env python3
"""forkbench's Python twin as a CGI program (RFC 3875): one process per
request, running forkbench_app.application through the PEP 3333 bridge
wsgiref.handlers.CGIHandler. The database is $FORKBENCH_DB, which a CGI
host passes in the child's environment (Apache: SetEnv / PassEnv)."""

import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from wsgiref.handlers import CGIHandler  # noqa: E402

import forkbench_app  # noqa: E402

if __name__ == "__main__":
    CGIHandler().run(forkbench_app.application)
