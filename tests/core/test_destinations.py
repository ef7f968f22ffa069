"""The destination policy of the portal's own HTTP requests (portal.core.destinations): which
addresses are refused, and the pinned session's connection: resolved once, checked, made to the
checked address with the hostname kept for the Host header, the TLS server name and the
certificate check (a TLS server on loopback with a certificate from a test CA, trustme)."""

from __future__ import annotations

import ipaddress
import ssl
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import requests
import trustme

from portal.core.destinations import (
    RefusedDestination,
    address_problem,
    networks,
    pinned_session,
    refusal,
)
from tests.webhook_receiver import LOOPBACK


@pytest.mark.pure
@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("fec0::1", "private"),  # the old IPv6 site-local
        ("169.254.169.254", "link-local"),  # the cloud metadata address
        ("fe80::1", "link-local"),
        ("224.0.0.251", "multicast"),
        ("224.0.1.1", "multicast"),  # "global" to Python's ipaddress, multicast all the same
        ("ff02::1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
        # IPv6 forms carrying an IPv4 address are judged by it.
        ("::ffff:127.0.0.1", "loopback"),
        ("::ffff:169.254.169.254", "link-local"),
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
        # Public addresses, in every form.
        ("93.184.216.34", None),
        ("2606:2800:220:1:248:1893:25c8:1946", None),
        ("::ffff:93.184.216.34", None),
        ("64:ff9b::5db8:d822", None),
    ],
)
def test_what_is_refused(address, reason):
    assert refusal(ipaddress.ip_address(address)) == reason


@pytest.mark.pure
def test_allowed_networks_and_plain_http():
    allowed = networks(["10.20.0.0/16", "127.0.0.0/8"])
    for text in ("10.20.3.4", "127.0.0.1", "::ffff:127.0.0.1"):
        for scheme in ("https", "http"):
            assert address_problem(ipaddress.ip_address(text), allowed, scheme=scheme) is None
    assert address_problem(ipaddress.ip_address("10.30.0.1"), allowed, scheme="https") == "private"
    public = ipaddress.ip_address("93.184.216.34")
    assert address_problem(public, allowed, scheme="https") is None
    assert address_problem(public, allowed, scheme="http") == "http"  # over the internet: TLS


class _Recorder(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server name
        self.server.hosts.append(self.headers.get("Host"))  # type: ignore[attr-defined]
        self.send_response(204)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002
        pass


class TlsServer:
    """An HTTPS server on 127.0.0.1 whose certificate names ``names``; records the TLS server
    names (SNI) and Host headers it was sent."""

    def __init__(self, ca: trustme.CA, *names: str) -> None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ca.issue_cert(*names).configure_cert(context)
        self.server_names: list[str | None] = []
        context.sni_callback = lambda _sock, name, _ctx: self.server_names.append(name)
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
        self.server.hosts = []  # type: ignore[attr-defined]
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def hosts(self) -> list[str]:
        return self.server.hosts  # type: ignore[attr-defined]

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(5)


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
def ca_file(ca) -> Iterator[str]:
    with ca.cert_pem.tempfile() as path:
        yield path


@pytest.mark.pure
def test_the_pinned_connection_keeps_the_name_for_tls_and_the_host_header(ca, ca_file):
    server = TlsServer(ca, "localhost")
    try:
        with pinned_session(LOOPBACK) as http:
            response = http.get(f"https://localhost:{server.port}/hooks", verify=ca_file, timeout=5)
        assert response.status_code == 204
        assert server.server_names == ["localhost"]
        assert server.hosts == [f"localhost:{server.port}"]
        # Asked by its address, the certificate (which names only localhost) does not match.
        with pinned_session(LOOPBACK) as http, pytest.raises(requests.exceptions.SSLError):
            http.get(f"https://127.0.0.1:{server.port}/hooks", verify=ca_file, timeout=5)
    finally:
        server.stop()


@pytest.mark.pure
def test_the_certificate_is_checked_against_the_name_not_the_address(ca, ca_file):
    server = TlsServer(ca, "works.example.org", "127.0.0.1")
    try:
        with pinned_session(LOOPBACK) as http, pytest.raises(requests.exceptions.SSLError):
            http.get(f"https://localhost:{server.port}/hooks", verify=ca_file, timeout=5)
        assert server.hosts == []
    finally:
        server.stop()


@pytest.mark.pure
def test_without_the_allowance_loopback_is_never_connected_to(ca, ca_file):
    server = TlsServer(ca, "localhost")
    try:
        for url in (f"https://localhost:{server.port}/", f"http://127.0.0.1:{server.port}/"):
            with pinned_session(()) as http, pytest.raises(RefusedDestination) as refused:
                http.get(url, verify=ca_file, timeout=5)
            assert refused.value.reason == "loopback"
        # Another private network allowed does not open loopback.
        with pinned_session(["10.0.0.0/8"]) as http, pytest.raises(RefusedDestination):
            http.get(f"https://localhost:{server.port}/", verify=ca_file, timeout=5)
        assert server.server_names == [] and server.hosts == []
    finally:
        server.stop()
