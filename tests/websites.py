"""A news site on 127.0.0.1 for the ``add`` / ``watch`` tests: the pages under tests/data/web, a feed,
and the ways a real site goes wrong (404, 500, a page that never answers, a PDF, a page over the cap,
redirect loops, a redirect to file://).

The ``site`` fixture starts it on a free port; ``site.url("/news/harbour-ferry")`` is a page's address,
``site.requests`` what was asked for (path and User-Agent), ``site.pages`` the routes, which a test may change.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

WEB = Path(__file__).parent / "data" / "web"
HTML = "text/html; charset=utf-8"


@dataclass
class Route:
    body: bytes = b""
    content_type: str = HTML
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    length: bool = True  # send Content-Length; without it the body ends when the connection closes
    hang: bool = False  # never answer (until the site stops)


class Site:
    def __init__(self):
        self.pages: dict[str, Route] = {}
        self.requests: list[tuple[str, str]] = []
        self._stopping = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return self.base + path

    def file(self, name: str) -> bytes:
        return (WEB / name).read_bytes().replace(b"{base}", self.base.encode())

    def start(self) -> "Site":
        big = b"<html><body><article>" + b"<p>" + b"The harbour wall was repaired again. " * 400 + b"</p>" * 40
        self.pages.update({
            "/news/harbour-ferry": Route(self.file("harbour-ferry.html")),
            "/news/library-reopens": Route(self.file("library-reopens.html")),
            "/sections": Route(self.file("no-article.html")),
            "/feed.xml": Route(self.file("feed.xml"), "application/rss+xml; charset=utf-8"),
            "/atom.xml": Route(self.file("atom.xml"), "application/atom+xml"),
            "/broken-feed.xml": Route(self.file("broken-feed.xml"), "application/rss+xml"),
            "/gone": Route(b"<html><body><h1>Page not found</h1></body></html>", status=404),
            "/broken": Route(b"<html><body>Internal error</body></html>", status=500),
            "/slow": Route(hang=True),
            "/report.pdf": Route(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n", "application/pdf"),
            "/huge": Route(big * 3),
            "/huge-unsized": Route(big * 3, length=False),
            "/moved": Route(status=301, headers={"Location": "/news/harbour-ferry"}),
            "/loop": Route(status=302, headers={"Location": "/loop"}),
            "/to-file": Route(status=302, headers={"Location": "file:///etc/passwd"}),
        })
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # lets a hanging request go
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 - http.server's naming
                site.requests.append((self.path, self.headers.get("User-Agent", "")))
                route = site.pages.get(self.path)
                if route is None:
                    route = Route(b"<html><body>Not found</body></html>", status=404)
                if route.hang:
                    site._stopping.wait()
                    return
                self.send_response(route.status)
                self.send_header("Content-Type", route.content_type)
                for k, v in route.headers.items():
                    self.send_header(k, v)
                if route.length:
                    self.send_header("Content-Length", str(len(route.body)))
                else:
                    self.send_header("Connection", "close")
                    self.close_connection = True
                self.end_headers()
                try:
                    self.wfile.write(route.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client stopped reading (over the cap): what it should do

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def site():
    s = Site().start()
    yield s
    s.stop()
