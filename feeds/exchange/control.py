"""Live stream control over a connection: Binance's SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS /
SET_PROPERTY / GET_PROPERTY requests, and their replies.

    request  {"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 1}
    success  {"result": null, "id": 1}         (LIST_SUBSCRIPTIONS: a list; GET_PROPERTY: a bool)
    failure  {"error": {"code": 2, "msg": "Invalid request: ..."}, "id": 1}

Error codes as Binance documents them: 0 unknown property, 1 value not a boolean, 2 invalid
request (unknown method, bad id, missing or extra parameters, bad stream name), 3 invalid JSON.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
_STRING_ID = re.compile(r"^[A-Za-z0-9]{1,36}$")
_INT64 = (-(2**63), 2**63 - 1)


class ControlError(Exception):
    def __init__(self, code: int, msg: str, request_id: Any = None) -> None:
        super().__init__(msg)
        self.code = code
        self.msg = msg
        self.request_id = request_id

    def reply(self) -> str:
        return error_reply(self.code, self.msg, self.request_id)


@dataclass(frozen=True)
class ControlRequest:
    method: str
    params: list
    request_id: int | str | None


def _valid_id(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return _INT64[0] <= value <= _INT64[1]
    return isinstance(value, str) and bool(_STRING_ID.match(value))


def parse_control(text: str) -> ControlRequest:
    """Parse one incoming text message; raises ControlError with Binance's code and message."""
    try:
        message = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ControlError(3, f"Invalid JSON: expected value at line {exc.lineno} column {exc.colno}") from None
    where = f"at line 1 column {len(text)}"
    if not isinstance(message, dict):
        raise ControlError(2, f"Invalid request: expected a JSON object {where}")
    request_id = message.get("id")
    if "id" not in message or not _valid_id(request_id):
        raise ControlError(2, "Invalid request: request ID must be an unsigned integer")
    method = message.get("method")
    if "method" not in message:
        raise ControlError(2, f"Invalid request: missing field `method` {where}", request_id)
    if method not in METHODS:
        expected = ", ".join(f"`{m}`" for m in METHODS)
        raise ControlError(2, f"Invalid request: unknown variant `{method}`, expected one of {expected} {where}",
                           request_id)
    extra = set(message) - {"method", "params", "id"}
    if extra:
        raise ControlError(2, f"Invalid request: unknown field `{sorted(extra)[0]}` {where}", request_id)
    params = message.get("params", [])
    if params is None:
        params = []
    if not isinstance(params, list):
        raise ControlError(2, f"Invalid request: params must be a list {where}", request_id)
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        if not all(isinstance(p, str) for p in params):
            raise ControlError(2, "Invalid request: stream names must be strings", request_id)
    elif method == "LIST_SUBSCRIPTIONS":
        if params:
            raise ControlError(2, "Invalid request: too many parameters", request_id)
    else:
        wanted = 2 if method == "SET_PROPERTY" else 1
        if len(params) > wanted:
            raise ControlError(2, "Invalid request: too many parameters", request_id)
        if not params or not isinstance(params[0], str):
            raise ControlError(2, "Invalid request: property name must be a string", request_id)
        if params[0] != "combined":
            raise ControlError(0, "Unknown property", request_id)
        if method == "SET_PROPERTY" and (len(params) < 2 or not isinstance(params[1], bool)):
            raise ControlError(1, "Invalid value type: expected Boolean", request_id)
    return ControlRequest(method, params, request_id)


def result_reply(result: Any, request_id: Any) -> str:
    return json.dumps({"result": result, "id": request_id}, separators=(",", ":"))


def error_reply(code: int, msg: str, request_id: Any) -> str:
    return json.dumps({"error": {"code": code, "msg": msg}, "id": request_id}, separators=(",", ":"))
