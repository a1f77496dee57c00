"""Who may reach and control the monitor: the host names it answers to, the origins it takes
commands from, and the token that control needs.

Rules:
- A request names the server it wants in its ``Host`` header, and only allowed names are
  served. This is what stops DNS rebinding: a page on ``evil.example`` whose name is made to
  resolve to 127.0.0.1 reaches the monitor with ``Host: evil.example`` and is refused.
- Allowed by default: the loopback names (``localhost``, ``127.0.0.1``, ``::1``) and the address
  given to ``--host`` (unless it is a wildcard such as 0.0.0.0, which no client names);
  ``--allowed-hosts`` adds names, and ``*`` allows any.
- Names compare case-insensitively and without a trailing dot; ports are not compared (the
  monitor listens on one port; a proxy in front may use another).
- A ``Host`` that is missing or not a well-formed name is never allowed, unless ``*`` is.
- A browser names the page that makes a request in its ``Origin`` header. Allowed by default:
  the monitor's own page (the origin whose scheme, name and port are the request's own, from
  ``Host``); ``--allowed-origins`` adds origins (``https://dash.example``), and ``*`` allows any.
  Origins compare normalised: lower case, default ports (80, 443) left out. ``null`` (sandboxed
  frames, files) is no origin and never allowed.
- The control token (``MONITOR_TOKEN`` or ``--token-file``), when set, is needed for every
  control action; watching needs nothing. It is compared in constant time, kept out of every
  repr, and never logged or rendered. At least 16 printable ASCII characters, no spaces (it
  travels in an ``Authorization: Bearer`` header).

Pure standard library: the command line validates with it before anything heavy is imported.
"""
from __future__ import annotations

import hmac
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

ANY = "*"
LOOPBACK_NAMES = frozenset(("localhost", "127.0.0.1", "::1"))
WILDCARD_ADDRESSES = frozenset(("", "0.0.0.0", "::"))

_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$")
_PORT = re.compile(r"^[0-9]{1,5}$")
_EXPECTED = "expected a name like monitor.example.com, an address like 10.0.0.5 or [::1], or *"
_EXPECTED_ORIGIN = "expected scheme://name[:port] like https://dash.example or http://10.0.0.5:8080, or *"
_DEFAULT_PORTS = {"http": 80, "https": 443}
MIN_TOKEN_LENGTH = 16
_TOKEN = re.compile(r"^[\x21-\x7e]+$")   # printable ASCII, no space


def _name(text: str) -> str | None:
    """A host name or address, normalised ('Example.COM.' -> 'example.com'); None if malformed."""
    text = text.strip().lower()
    if text.startswith("[") and text.endswith("]"):
        text = text[1:-1]
    if ":" in text:
        try:
            return str(ipaddress.IPv6Address(text))
        except ValueError:
            return None
    text = text[:-1] if text.endswith(".") else text
    return text if _NAME.match(text) else None


def _authority(text: str) -> tuple[str, int | None] | None:
    """'monitor.example:8080' -> ('monitor.example', 8080); '[::1]' -> ('::1', None); None if malformed."""
    text = text.strip()
    if text.startswith("["):  # [v6] or [v6]:port
        address, bracket, rest = text[1:].partition("]")
        name = _name(address) if bracket and ":" in address else None
        port_text = rest[1:] if rest.startswith(":") else (None if not rest else "")
    else:
        before, colon, after = text.rpartition(":")
        name = _name(before if colon else text) if ":" not in before else None
        port_text = after if colon else None
    if name is None or port_text == "" or (port_text is not None and not _PORT.match(port_text)):
        return None
    port = int(port_text) if port_text is not None else None
    return (name, port) if port is None or 0 < port < 65536 else None


def host_name(header: str | None) -> str | None:
    """The name in a ``Host`` header ('monitor.example:8080' -> 'monitor.example'), None if malformed."""
    parsed = _authority(header) if header else None
    return parsed[0] if parsed else None


def _parse_list(text: str, normalise, kind: str, expected: str) -> tuple[str, ...]:
    """Comma-separated entries, each normalised (None: refused as not ``kind``), '*' kept as is."""
    entries = [entry.strip() for entry in text.split(",") if entry.strip()]
    if not entries:
        raise ValueError(f"no {kind}s given ({expected})")
    values = []
    for entry in entries:
        value = ANY if entry == ANY else normalise(entry)
        if value is None:
            raise ValueError(f"not {'an' if kind[0] in 'aeiou' else 'a'} {kind}: {entry!r} ({expected})")
        values.append(value)
    return tuple(dict.fromkeys(values))


def _listed_host(entry: str) -> str | None:
    if _name(entry) is None and host_name(entry) is not None:
        raise ValueError(f"give host names without a port (any port is allowed): {entry!r}")
    return _name(entry)


def parse_host_list(text: str) -> tuple[str, ...]:
    """'a.example, 10.0.0.5' -> ('a.example', '10.0.0.5'); '*' -> ('*',). ValueError, one line, if bad."""
    return _parse_list(text, _listed_host, "host name", _EXPECTED)


def origin(text: str | None) -> str | None:
    """An origin, normalised ('HTTP://Dash.Example:80' -> 'http://dash.example'); None if malformed."""
    scheme, separator, authority = (text or "").strip().partition("://")
    scheme = scheme.lower()
    parsed = _authority(authority) if separator and scheme in _DEFAULT_PORTS else None
    if parsed is None:
        return None
    name, port = parsed
    shown = f"[{name}]" if ":" in name else name
    return f"{scheme}://{shown}" if port in (None, _DEFAULT_PORTS[scheme]) else f"{scheme}://{shown}:{port}"


def parse_origin_list(text: str) -> tuple[str, ...]:
    """'https://a.example, http://10.0.0.5:8080' -> normalised origins; '*' -> ('*',). ValueError if bad."""
    return _parse_list(text, origin, "origin", _EXPECTED_ORIGIN)


def check_token(text: str, source: str) -> str:
    """The token read from ``source`` (named in the message), without surrounding whitespace."""
    token = text.strip()
    if not token:
        raise ValueError(f"{source} is empty")
    if not _TOKEN.match(token):
        raise ValueError(f"{source}: the token must be printable ASCII without spaces")
    if len(token) < MIN_TOKEN_LENGTH:
        raise ValueError(f"{source}: the token is shorter than {MIN_TOKEN_LENGTH} characters "
                         "(python3 -c 'import secrets; print(secrets.token_urlsafe())' makes one)")
    return token


def is_loopback(host: str) -> bool:
    """True for a loopback name or address (127.0.0.0/8, ::1, localhost)."""
    name = _name(host)
    if name is None:
        return False
    if name == "localhost":
        return True
    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class Exposure:
    """The allowed host names and extra origins (None means any) and the control token (None: none)."""

    hosts: frozenset[str] | None
    origins: frozenset[str] | None = frozenset()
    token: str | None = field(default=None, repr=False)

    @classmethod
    def of(cls, config: Any) -> "Exposure":
        """From the monitor's config: ``host`` (the listening address), ``allowed_hosts`` and
        ``allowed_origins``, ``token``."""
        extra = tuple(getattr(config, "allowed_hosts", ()))
        origins = frozenset(getattr(config, "allowed_origins", ()))
        listening = _name(str(getattr(config, "host", "")))
        own = {listening} if listening and listening not in WILDCARD_ADDRESSES else set()
        return cls(None if ANY in extra else frozenset(LOOPBACK_NAMES | own | set(extra)),
                   None if ANY in origins else origins, getattr(config, "token", None))

    def allows_host(self, header: str | None) -> bool:
        return self.hosts is None or host_name(header) in self.hosts

    def allows_origin(self, claimed: str | None, environ: dict) -> bool:
        """Whether a request from page ``claimed`` (its Origin header) may act on this server:
        the request's own origin (scheme and Host of ``environ``, a WSGI environ) or a listed one.
        The signature is the one Engine.IO calls for ``cors_allowed_origins``."""
        if self.origins is None:
            return True
        normalised = origin(claimed)
        if normalised is None:
            return False
        own = origin(f"{environ.get('wsgi.url_scheme', 'http')}://{environ.get('HTTP_HOST', '')}")
        return normalised == own or normalised in self.origins

    def accepts_token(self, candidate: object) -> bool:
        """Whether ``candidate`` is the control token (always True when no token is set)."""
        if self.token is None:
            return True
        if not isinstance(candidate, str):
            return False
        return hmac.compare_digest(candidate.encode("utf-8", "replace"), self.token.encode())
