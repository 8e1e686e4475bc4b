#!/usr/bin/env python3
"""Stand-in CGI program: the stand-in app through wsgiref's CGIHandler."""

import os
import sys
from wsgiref.handlers import CGIHandler

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from forkbench_app import application  # noqa: E402

CGIHandler().run(application)
