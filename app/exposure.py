"""Who may reach the monitor: the host names it answers to.

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

Pure standard library: the command line validates with it before anything heavy is imported.
"""
from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from typing import Any

ANY = "*"
LOOPBACK_NAMES = frozenset(("localhost", "127.0.0.1", "::1"))
WILDCARD_ADDRESSES = frozenset(("", "0.0.0.0", "::"))

_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_-]{0,62})(\.[a-z0-9_]([a-z0-9_-]{0,62}))*$")
_PORT = re.compile(r"^[0-9]{1,5}$")
_EXPECTED = "expected a name like monitor.example.com, an address like 10.0.0.5 or [::1], or *"


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


def host_name(header: str | None) -> str | None:
    """The name in a ``Host`` header ('monitor.example:8080' -> 'monitor.example'), None if malformed."""
    if not header:
        return None
    header = header.strip()
    if header.startswith("["):  # [v6]:port
        address, bracket, port = header[1:].partition("]")
        if not bracket or (port and not (port.startswith(":") and _PORT.match(port[1:]))):
            return None
        return _name(address) if ":" in address else None
    name, colon, port = header.rpartition(":")
    if not colon:
        return _name(header)
    return _name(name) if _PORT.match(port) and ":" not in name else None


def parse_host_list(text: str) -> tuple[str, ...]:
    """'a.example, 10.0.0.5' -> ('a.example', '10.0.0.5'); '*' -> ('*',). ValueError, one line, if bad."""
    entries = [entry.strip() for entry in text.split(",") if entry.strip()]
    if not entries:
        raise ValueError(f"no host names given ({_EXPECTED})")
    names = []
    for entry in entries:
        if entry == ANY:
            names.append(ANY)
            continue
        if host_name(entry) is not None and _name(entry) is None:
            raise ValueError(f"give host names without a port (any port is allowed): {entry!r}")
        name = _name(entry)
        if name is None:
            raise ValueError(f"not a host name: {entry!r} ({_EXPECTED})")
        names.append(name)
    return tuple(dict.fromkeys(names))


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
    """The allowed host names; ``hosts`` None means any."""

    hosts: frozenset[str] | None

    @classmethod
    def of(cls, config: Any) -> "Exposure":
        """From the monitor's config: ``host`` (the listening address) and ``allowed_hosts``."""
        extra = tuple(getattr(config, "allowed_hosts", ()))
        if ANY in extra:
            return cls(None)
        listening = _name(str(getattr(config, "host", "")))
        own = {listening} if listening and listening not in WILDCARD_ADDRESSES else set()
        return cls(frozenset(LOOPBACK_NAMES | own | set(extra)))

    def allows_host(self, header: str | None) -> bool:
        return self.hosts is None or host_name(header) in self.hosts
