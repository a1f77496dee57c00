"""How Socket.IO packets are encoded on the wire: orjson, and no scan for binary attachments.

python-socketio's default packet encodes with the stdlib json module and first walks the whole
payload looking for ``bytes`` to send as attachments. For a 12 KB snapshot that walk costs
~400 µs and stdlib json ~240 µs, against ~20 µs for orjson alone (see performance.md). Snapshots
and acks never carry binary data, so the walk is switched off. A broadcast to a room is encoded
once by python-socketio's manager and the same frame is queued to every member.
"""
from __future__ import annotations

import json
import logging
from typing import Any

import orjson
import socketio

log = logging.getLogger(__name__)

_DUMPS_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY


class OrjsonModule:
    """The ``json``-module shape python-socketio calls: ``dumps(obj, **ignored) -> str``, ``loads``."""

    @staticmethod
    def dumps(obj: Any, **_ignored: Any) -> str:
        return orjson.dumps(obj, option=_DUMPS_OPTIONS).decode()

    @staticmethod
    def loads(text: str | bytes, **_ignored: Any) -> Any:
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:
            # NaN, Infinity and integers past 64 bits: not JSON to orjson, but what Python clients
            # send. Read, they reach the checks that refuse them in an ack; unread, the packet
            # would be dropped with no answer at all.
            return json.loads(text)


class OrjsonPacket(socketio.packet.Packet):
    """Socket.IO packet encoded with orjson; never split into binary attachments."""

    uses_binary_events = False
    json = OrjsonModule


def encode_json(obj: Any) -> bytes:
    """The same encoder for HTTP responses: one JSON body in µs, not ms.

    orjson refuses integers past 64 bits and types it does not know. No value of ours should be
    either, but a snapshot that cannot be encoded would blank every page, so such a body is
    encoded once more with those values as strings (and the event logged) rather than not at all.
    """
    try:
        return orjson.dumps(obj, option=_DUMPS_OPTIONS)
    except orjson.JSONEncodeError as exc:
        log.error("JSON body needed repair (%s): encoding unrepresentable values as strings", exc)
        return orjson.dumps(_representable(obj), option=_DUMPS_OPTIONS)


def _representable(value: Any) -> Any:
    """``value`` with every integer past 64 bits and every unknown object as a string."""
    if isinstance(value, dict):
        return {k if isinstance(k, str) else str(k): _representable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_representable(v) for v in value]
    if isinstance(value, bool) or value is None or isinstance(value, (str, float)):
        return value
    if isinstance(value, int):
        return value if -(2**63) <= value < 2**64 else str(value)
    try:
        orjson.dumps(value, option=_DUMPS_OPTIONS)
        return value
    except orjson.JSONEncodeError:
        return str(value)


class WithoutWebSocketCompression:
    """WSGI middleware that declines permessage-deflate for the Socket.IO WebSocket.

    Browsers ask for permessage-deflate on every WebSocket. Compressing costs the server
    ~135 µs per client message against ~35 µs for the plain frame (performance.md): with 1000
    clients at 5 Hz that is most of a core, and it lengthens the tail of every push. Snapshots
    are ~11 KB and the monitor serves a desk or a LAN, so bytes are cheaper than CPU here.
    Removing the offer from the handshake makes the server answer without the extension, which
    RFC 7692 clients accept.
    """

    def __init__(self, wsgi_app, path_prefix: str = "/socket.io") -> None:
        self.wsgi_app = wsgi_app
        self.path_prefix = path_prefix

    def __call__(self, environ, start_response):
        if environ.get("PATH_INFO", "").startswith(self.path_prefix):
            environ.pop("HTTP_SEC_WEBSOCKET_EXTENSIONS", None)
        return self.wsgi_app(environ, start_response)
