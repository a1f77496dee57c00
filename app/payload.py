"""The outer shape of a control payload, checked before any field of it is read.

Control payloads come from any Socket.IO client or HTTP caller. Their fields are validated one by
one later (strategy parameters and risk limits by their declared ranges); this check only keeps
the shape small, so no payload can make the engine walk, store or echo something huge:
  - a payload is a JSON object; objects nest at most MAX_DEPTH deep ({"params": {..}} is 2);
  - an object has at most MAX_KEYS keys, each a string of at most MAX_KEY_CHARS characters;
  - a list has at most MAX_ITEMS items; a string at most MAX_STRING_CHARS characters;
  - leaves are strings, numbers, booleans or null.
``payload_problem`` returns one line naming the offending path, or None when the shape is fine.
"""
from __future__ import annotations

from typing import Any

MAX_DEPTH = 3
MAX_KEYS = 64
MAX_KEY_CHARS = 64
MAX_ITEMS = 64
MAX_STRING_CHARS = 256


def payload_problem(payload: Any) -> str | None:
    if not isinstance(payload, dict):
        return "the payload must be a JSON object"
    return _problem(payload, "payload", 1)


def _problem(value: Any, path: str, depth: int) -> str | None:
    if isinstance(value, dict):
        if depth > MAX_DEPTH:
            return f"{path}: objects nest at most {MAX_DEPTH} deep"
        if len(value) > MAX_KEYS:
            return f"{path}: at most {MAX_KEYS} keys, got {len(value)}"
        for key, item in value.items():
            if not isinstance(key, str) or len(key) > MAX_KEY_CHARS:
                return f"{path}: keys are strings of at most {MAX_KEY_CHARS} characters"
            problem = _problem(item, f"{path}.{key}", depth + 1)
            if problem:
                return problem
        return None
    if isinstance(value, list):
        if depth > MAX_DEPTH:
            return f"{path}: lists nest at most {MAX_DEPTH} deep"
        if len(value) > MAX_ITEMS:
            return f"{path}: at most {MAX_ITEMS} items, got {len(value)}"
        for index, item in enumerate(value):
            problem = _problem(item, f"{path}[{index}]", depth + 1)
            if problem:
                return problem
        return None
    if isinstance(value, str):
        if len(value) > MAX_STRING_CHARS:
            return f"{path}: strings of at most {MAX_STRING_CHARS} characters, got {len(value)}"
        return None
    if value is None or isinstance(value, (bool, int, float)):
        return None
    return f"{path}: {type(value).__name__} is not a JSON value"
