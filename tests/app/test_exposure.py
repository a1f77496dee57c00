"""app.exposure: reading Host headers and --allowed-hosts, and which names a config allows."""
from __future__ import annotations

import pytest

from app.config import MonitorConfig
from app.exposure import Exposure, host_name, is_loopback, parse_host_list


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


@pytest.mark.parametrize("text, fragment", [
    ("", "no host names given"),
    (" , ", "no host names given"),
    ("http://monitor.example", "not a host name: 'http://monitor.example'"),
    ("monitor.example:8080", "without a port"),
    ("[::1]:8080", "without a port"),
    ("monitor.example/path", "not a host name"),
    ("*.example", "not a host name"),
])
def test_bad_allowed_host_lists_are_one_clear_line(text, fragment):
    with pytest.raises(ValueError) as failure:
        parse_host_list(text)
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
