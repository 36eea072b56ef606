"""One HTTP client for the whole test run.

``httpx.get()`` and friends build a client per call, and with it a TLS context
that loads the system's certificates: 22 ms of CPU each time, on localhost, for
nothing. Polling a starting server every 20 ms spent more time there than the
server took to start, and an in-process server shares the test's interpreter.

Connections are not kept alive: a test may kill a server and start another on
the same port, and nothing should ride on a socket of the one before.
"""

from __future__ import annotations

import httpx

http = httpx.Client(timeout=5.0, limits=httpx.Limits(max_keepalive_connections=0))
