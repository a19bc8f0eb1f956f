"""Shared fixtures: local servers (see tests/servers.py), a test CA, no proxy from the caller.

- ``http_server`` / ``https_server``: a started ``HTTPServer`` (https: certificate from
  ``trustme_ca`` for 127.0.0.1, localhost, ::1 and ``IDN_HOST``).
- ``raw_server``: a factory, ``raw_server(script, tls=False)`` -> started ``RawServer``.
- ``proxy_server``: a started ``ProxyServer`` (make your own for ``route=``/``refuse=``).
- ``trustme_ca``, ``server_ssl_context``, ``ssl_client_context`` (trusts the CA only),
  ``ca_cert_file`` (the CA as a PEM file, for ``SSL_CERT_FILE`` in subprocesses).
Every started server is stopped at the end of its test.
"""

from __future__ import annotations

import ssl

import pytest
import trustme

from servers import IDN_HOST, HTTPServer, ProxyServer, RawServer, Reply, page

#: Proxy variables cleared for every test, so no test depends on the caller's proxy.
PROXY_VARIABLES = (
    "http_proxy",
    "HTTP_PROXY",
    "https_proxy",
    "HTTPS_PROXY",
    "all_proxy",
    "ALL_PROXY",
    "no_proxy",
    "NO_PROXY",
)

@pytest.fixture(autouse=True)
def _no_caller_proxy(monkeypatch):
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture(scope="session")
def trustme_ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture(scope="session")
def server_ssl_context(trustme_ca) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    trustme_ca.issue_cert("127.0.0.1", "localhost", "::1", IDN_HOST).configure_cert(context)
    return context


@pytest.fixture(scope="session")
def ssl_client_context(trustme_ca) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    trustme_ca.configure_trust(context)
    return context


@pytest.fixture(scope="session")
def ca_cert_file(trustme_ca, tmp_path_factory):
    path = tmp_path_factory.mktemp("ca") / "ca.pem"
    trustme_ca.cert_pem.write_to_path(str(path))
    return path


@pytest.fixture
def http_server():
    with HTTPServer() as server:
        yield server


@pytest.fixture
def https_server(server_ssl_context):
    with HTTPServer(tls=server_ssl_context) as server:
        yield server


@pytest.fixture
def raw_server(server_ssl_context):
    started = []

    def make(script, *, tls: bool = False) -> RawServer:
        server = RawServer(script, tls=server_ssl_context if tls else None)
        started.append(server.start())
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def proxy_server():
    with ProxyServer() as proxy:
        yield proxy


@pytest.fixture
def site(http_server):
    """An HTTP server with a few kinds of page; any other path is a 404."""
    http_server.route("/", page("<html><head><title>Home  page</title></head></html>"))
    http_server.route("/png", page(b"\x89PNG" + b"x" * 19964, "image/png"))
    http_server.route("/untitled", page("<html><head></head><body>no title</body></html>"))
    http_server.route("/hostile", page("<title>a\x1b]0;pwned\x07b\x1b[2Jc\u202ed\x9b1m</title>"))
    http_server.route("/gone", Reply(404, [("Content-Type", "text/html")], b"<title>404</title>"))
    http_server.route("/a", page("<title>Alpha</title>"))
    http_server.route("/b", page("<title>Beta</title>"))
    http_server.route("/none", page("<p>no title here</p>"))
    http_server.route("/img", page(b"\x89PNG" + b"x" * 2044, "image/png"))
    http_server.route("/x", page("<title>Ex</title>"))
    http_server.route("/y", page("<title>Why</title>"))
    return http_server
