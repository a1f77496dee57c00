"""app.exposure: reading Host headers and --allowed-hosts, and which names a config allows."""
from __future__ import annotations

import pytest

from app.config import MonitorConfig
from app.exposure import Exposure, host_name, is_loopback, parse_host_list, parse_origin_list


@pytest.mark.parametrize("header, name", [
    ("127.0.0.1:8080", "127.0.0.1"),
    ("localhost", "localhost"),
    ("LocalHost.:80", "localhost"),
    ("[::1]:8080", "::1"),
    ("[::1]", "::1"),
    ("Monitor.Example.COM", "monitor.example.com"),
    ("", None),
    (None, None),
    ("::1", None),                      # an IPv6 Host must be bracketed
    ("evil.example:80:80", None),
    ("evil.example:http", None),
    ("[::1]x", None),
    ("[nothex]:80", None),
    ("a b", None),
    ("evil.example/", None),
    ("x" * 64 + ".example", None),
])
def test_host_name_reads_the_name_out_of_a_host_header(header, name):
    assert host_name(header) == name


def test_allowed_host_lists_are_normalised():
    assert parse_host_list("Monitor.Example, 10.0.0.5 ,[::1],::2,monitor.example") == \
        ("monitor.example", "10.0.0.5", "::1", "::2")
    assert parse_host_list("*") == ("*",)


@pytest.mark.parametrize("parse, text, fragment", [
    (parse_host_list, "", "no host names given"),
    (parse_host_list, " , ", "no host names given"),
    (parse_host_list, "http://monitor.example", "not a host name: 'http://monitor.example'"),
    (parse_host_list, "monitor.example:8080", "without a port"),
    (parse_host_list, "[::1]:8080", "without a port"),
    (parse_host_list, "monitor.example/path", "not a host name"),
    (parse_host_list, "*.example", "not a host name"),
    (parse_origin_list, "dash.example", "not an origin: 'dash.example'"),
    (parse_origin_list, "https://dash.example/", "not an origin"),
    (parse_origin_list, "", "no origins given"),
])
def test_bad_lists_are_one_clear_line(parse, text, fragment):
    with pytest.raises(ValueError) as failure:
        parse(text)
    assert fragment in str(failure.value) and "\n" not in str(failure.value)


def test_loopback_names_and_the_listening_host_are_allowed_by_default():
    exposure = Exposure.of(MonitorConfig(host="192.168.1.20"))
    for header in ("localhost:8080", "127.0.0.1:1", "[::1]:8080", "192.168.1.20:8080", "LOCALHOST"):
        assert exposure.allows_host(header), header
    for header in ("evil.example", "evil.example:8080", "127.0.0.2:8080", "", None, "192.168.1.21"):
        assert not exposure.allows_host(header), header


def test_a_wildcard_listening_address_is_no_name_and_star_allows_any():
    assert not Exposure.of(MonitorConfig(host="0.0.0.0")).allows_host("0.0.0.0:8080")
    extra = Exposure.of(MonitorConfig(host="0.0.0.0", allowed_hosts=("monitor.example",)))
    assert extra.allows_host("monitor.example:443") and not extra.allows_host("evil.example")
    anything = Exposure.of(MonitorConfig(allowed_hosts=("*",)))
    assert anything.allows_host("evil.example") and anything.allows_host(None)


def test_loopback_test():
    assert all(map(is_loopback, ("127.0.0.1", "127.1.2.3", "::1", "[::1]", "localhost", "LOCALHOST")))
    assert not any(map(is_loopback, ("0.0.0.0", "::", "192.168.1.2", "monitor.example", "", "not a host")))


def test_origins_are_normalised_and_malformed_ones_are_none():
    from app.exposure import origin

    assert origin("HTTP://Dash.Example:80") == "http://dash.example"
    assert origin("https://dash.example:443") == "https://dash.example"
    assert origin("https://dash.example:8443") == "https://dash.example:8443"
    assert origin("http://[::1]:8080") == "http://[::1]:8080"
    for bad in ("null", "", None, "dash.example", "ftp://dash.example", "http://dash.example/path",
                "http://dash.example:0", "http://dash.example:70000", "http://", "http://a b"):
        assert origin(bad) is None, bad


def test_the_pages_own_origin_and_listed_ones_are_allowed():
    environ = {"wsgi.url_scheme": "http", "HTTP_HOST": "127.0.0.1:8080"}
    default = Exposure.of(MonitorConfig())
    assert default.allows_origin("http://127.0.0.1:8080", environ)
    for foreign in ("http://127.0.0.1:8081", "https://127.0.0.1:8080", "http://localhost:8080", "null", None):
        assert not default.allows_origin(foreign, environ), foreign
    listed = Exposure.of(MonitorConfig(allowed_origins=parse_origin_list("https://dash.example")))
    assert listed.allows_origin("https://dash.example:443", environ)
    assert listed.allows_origin("http://127.0.0.1:8080", environ) and not listed.allows_origin("http://evil", environ)
    assert Exposure.of(MonitorConfig(allowed_origins=("*",))).allows_origin("http://evil.example", environ)
