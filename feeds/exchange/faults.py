"""Fault injection: the ways a real exchange misbehaves, on demand.

Faults come from the command line (``--fault KIND[:key=value,...]``, repeatable) or from the
admin endpoint (``POST /admin/faults`` with a JSON object or a list of them, each
``{"kind": KIND, key: value, ...}``; ``GET /admin/faults`` shows the state and the log of faults
that happened; ``DELETE /admin/faults`` clears everything pending).

    kind        parameters (defaults)                what happens
    disconnect  mode=clean|abrupt|shutdown (clean)   every stream connection closes now: a close
                                                     frame 1000, a TCP abort without close frame, or
                                                     a serverShutdown frame then close 1001
    gap         symbol=SYM (all), count=N (1)        the next N depth diffs of each depth stream of
                                                     SYM are not sent: clients see U jump
    malformed   count=N (1), form=truncated|garbage  N broken frames to every stream connection:
                |schema|binary (truncated)           cut JSON, non-JSON text, wrong field types,
                                                     or a binary frame
    silence     seconds=S (5)                        no data frames for S s (dropped, not delayed);
                                                     pings are still answered
    rest_error  count=N (1), status=CODE (500)       the next N REST requests fail with CODE
    rate_limit  count=N (1), retry_after=S (1)       the next N REST requests get 429 + Retry-After
    slow        rest_ms=M (0), ws_ms=M (0),          REST answers and stream frames are delayed by
                seconds=S (until cleared)            M ms
    clear       -                                    forget every pending fault

Any fault also takes ``at=S`` (apply S seconds from now, or from startup on the command line)
and ``every=S`` (repeat every S seconds). The controller holds state only; the server asks it
what to do and lends it the few actions that touch connections.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any, Callable, Protocol

# REST failures waiting their turn (each counts N requests down) and entries of the fault log
# (GET /admin/faults): the newest this many are kept, so a script posting faults in a loop
# cannot grow the exchange without end.
REST_FAULTS_KEPT = 1000
FAULT_LOG_KEPT = 1000

KINDS: dict[str, dict[str, type]] = {
    "disconnect": {"mode": str},
    "gap": {"symbol": str, "count": int},
    "malformed": {"count": int, "form": str},
    "silence": {"seconds": float},
    "rest_error": {"count": int, "status": int},
    "rate_limit": {"count": int, "retry_after": float},
    "slow": {"rest_ms": float, "ws_ms": float, "seconds": float},
    "clear": {},
}
_SCHEDULE = {"at": float, "every": float}
DISCONNECT_MODES = ("clean", "abrupt", "shutdown")
MALFORMED_FORMS = ("truncated", "garbage", "schema", "binary")


class FaultError(ValueError):
    """A fault request that names an unknown kind or parameter, or a bad value."""


class ConnectionActions(Protocol):
    """What the server lends the controller: actions on live stream connections."""

    def close_connections(self, mode: str) -> int: ...

    def send_malformed(self, form: str, count: int) -> int: ...


@dataclass(frozen=True)
class FaultSpec:
    """One fault request: kind, its parameters, and optional scheduling (seconds)."""

    kind: str
    params: dict = field(default_factory=dict)
    at: float = 0.0
    every: float = 0.0

    def describe(self) -> dict:
        out: dict[str, Any] = {"kind": self.kind, **self.params}
        if self.at:
            out["at"] = self.at
        if self.every:
            out["every"] = self.every
        return out


def _convert(kind: str, key: str, value: Any, kind_type: type) -> Any:
    try:
        if kind_type is int:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            converted: Any = int(value)
        elif kind_type is float:
            if isinstance(value, bool):
                raise ValueError
            converted = float(value)
        else:
            converted = str(value)
    except (TypeError, ValueError):
        raise FaultError(f"fault {kind}: {key}={value!r} is not a valid {kind_type.__name__}") from None
    if kind_type in (int, float) and converted < 0:
        raise FaultError(f"fault {kind}: {key} must not be negative")
    return converted


def make_spec(raw: dict, symbols: set[str]) -> FaultSpec:
    """Validate a fault request (admin JSON or parsed CLI text) into a FaultSpec."""
    if not isinstance(raw, dict):
        raise FaultError("a fault is a JSON object with a 'kind'")
    kind = raw.get("kind")
    if kind not in KINDS:
        raise FaultError(f"unknown fault kind {kind!r}; known: {', '.join(KINDS)}")
    allowed = KINDS[kind]
    params: dict[str, Any] = {}
    schedule = {"at": 0.0, "every": 0.0}
    for key, value in raw.items():
        if key == "kind":
            continue
        if key in _SCHEDULE:
            schedule[key] = _convert(kind, key, value, float)
        elif key in allowed:
            params[key] = _convert(kind, key, value, allowed[key])
        else:
            known = ", ".join([*allowed, *_SCHEDULE])
            raise FaultError(f"fault {kind}: unknown parameter {key!r}; known: {known}")
    if kind == "disconnect" and params.setdefault("mode", "clean") not in DISCONNECT_MODES:
        raise FaultError(f"fault disconnect: mode must be one of {', '.join(DISCONNECT_MODES)}")
    if kind == "malformed" and params.setdefault("form", "truncated") not in MALFORMED_FORMS:
        raise FaultError(f"fault malformed: form must be one of {', '.join(MALFORMED_FORMS)}")
    if kind == "gap" and "symbol" in params:
        params["symbol"] = params["symbol"].upper()
        if params["symbol"] not in symbols:
            raise FaultError(f"fault gap: symbol {params['symbol']} is not listed")
    if kind == "rest_error" and not 400 <= params.setdefault("status", 500) <= 599:
        raise FaultError("fault rest_error: status must be an HTTP error code 400..599")
    if "count" in allowed:
        params.setdefault("count", 1)
        if params["count"] < 1:
            raise FaultError(f"fault {kind}: count must be at least 1")
    if kind == "silence":
        params.setdefault("seconds", 5.0)
    if kind == "rate_limit":
        params.setdefault("retry_after", 1.0)
    if schedule["every"] and schedule["every"] < 0.05:
        raise FaultError(f"fault {kind}: every must be at least 0.05 s")
    return FaultSpec(kind, params, schedule["at"], schedule["every"])


def parse_fault_text(text: str, symbols: set[str]) -> FaultSpec:
    """CLI form: ``KIND[:key=value,key=value]`` e.g. ``gap:symbol=BTCUSDT,count=2,at=10``."""
    kind, _, rest = text.strip().partition(":")
    raw: dict[str, Any] = {"kind": kind.strip()}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise FaultError(f"fault {kind}: expected key=value, got {item!r}")
        raw[key.strip()] = value.strip()
    return make_spec(raw, symbols)


def malformed_frame(form: str, stream: str, wrap: bool) -> str | bytes:
    """A broken frame of the given form for a connection listening to ``stream``."""
    if form == "binary":
        return b"\x8b\x00\xffnot a text frame"
    if form == "garbage":
        return "\x00\x1bthis is not JSON at all"
    symbol = stream.partition("@")[0].upper()
    payload = (f'{{"e":"depthUpdate","E":"soon","s":"{symbol}","U":"x","u":null,'
               f'"b":"not levels","a":[["1.00000000"]]}}')
    text = f'{{"stream":"{stream}","data":{payload}}}' if wrap else payload
    return text if form == "schema" else text[: len(text) // 2]  # truncated


@dataclass
class _RestFailure:
    status: int
    remaining: int
    retry_after: float


class FaultController:
    """Pending faults and their log. Single-threaded: call it from the exchange's event loop.

    clock: monotonic seconds; schedule(delay_s, fn): run fn later on the same loop.
    """

    def __init__(self, symbols: list[str], clock: Callable[[], float],
                 schedule: Callable[[float, Callable[[], None]], Any]) -> None:
        self._symbols = set(symbols)
        self._clock = clock
        self._schedule = schedule
        self._actions: ConnectionActions | None = None
        self._gaps: dict[tuple[str, int], int] = {}  # (symbol, interval ms) -> diffs still to drop
        self._silent_until = 0.0
        self._rest_failures: deque[_RestFailure] = deque(maxlen=REST_FAULTS_KEPT)
        self._rest_delay_ms = 0.0
        self._ws_delay_ms = 0.0
        self._slow_until: float | None = None
        self._generation = 0  # bumped by clear(): scheduled repeats of older requests stop
        self.log: deque[dict] = deque(maxlen=FAULT_LOG_KEPT)
        self.counters = {"gaps": 0, "malformed": 0, "rest_failures": 0, "disconnects": 0, "silences": 0}

    def bind(self, actions: ConnectionActions) -> None:
        self._actions = actions

    # -- requests --------------------------------------------------------------------------
    def request(self, raw: dict | FaultSpec) -> dict:
        """Validate and apply (or schedule) one fault; returns its description."""
        spec = raw if isinstance(raw, FaultSpec) else make_spec(raw, self._symbols)
        if spec.at > 0 or spec.every > 0:
            generation = self._generation
            self._schedule(spec.at, lambda: self._run_scheduled(spec, generation))
            return {**spec.describe(), "scheduled": True}
        return self._apply(spec)

    def _run_scheduled(self, spec: FaultSpec, generation: int) -> None:
        if generation != self._generation and spec.kind != "clear":
            return
        self._apply(spec)
        if spec.every > 0:
            self._schedule(spec.every, lambda: self._run_scheduled(spec, generation))

    def _apply(self, spec: FaultSpec) -> dict:
        p = spec.params
        kind = spec.kind
        result: dict[str, Any] = {"kind": kind, **p}
        if kind == "disconnect":
            result["connections"] = self._actions.close_connections(p["mode"]) if self._actions else 0
            self.counters["disconnects"] += 1
        elif kind == "gap":
            targets = [p["symbol"]] if "symbol" in p else sorted(self._symbols)
            for symbol in targets:
                for interval in (100, 1000):
                    key = (symbol, interval)
                    self._gaps[key] = self._gaps.get(key, 0) + p["count"]
        elif kind == "malformed":
            result["connections"] = self._actions.send_malformed(p["form"], p["count"]) if self._actions else 0
            self.counters["malformed"] += p["count"] * result["connections"]
        elif kind == "silence":
            self._silent_until = max(self._silent_until, self._clock() + p["seconds"])
            self.counters["silences"] += 1
        elif kind == "rest_error":
            self._rest_failures.append(_RestFailure(p["status"], p["count"], 0.0))
        elif kind == "rate_limit":
            self._rest_failures.append(_RestFailure(429, p["count"], p["retry_after"]))
        elif kind == "slow":
            self._rest_delay_ms = p.get("rest_ms", 0.0)
            self._ws_delay_ms = p.get("ws_ms", 0.0)
            self._slow_until = self._clock() + p["seconds"] if p.get("seconds") else None
        elif kind == "clear":
            self.clear()
        self.log.append({"at": round(self._clock(), 3), **result})
        return result

    def clear(self) -> None:
        self._generation += 1
        self._gaps.clear()
        self._silent_until = 0.0
        self._rest_failures.clear()
        self._rest_delay_ms = self._ws_delay_ms = 0.0
        self._slow_until = None

    # -- questions the server asks ----------------------------------------------------------
    def silent(self) -> bool:
        return self._silent_until > 0 and self._clock() < self._silent_until

    def take_gap(self, symbol: str, interval_ms: int) -> bool:
        """True when this depth diff must be dropped (consumes one pending gap)."""
        if not self._gaps:
            return False
        key = (symbol, interval_ms)
        left = self._gaps.get(key, 0)
        if not left:
            return False
        if left == 1:
            del self._gaps[key]
        else:
            self._gaps[key] = left - 1
        self.counters["gaps"] += 1
        return True

    def take_rest_failure(self) -> tuple[int, float] | None:
        """(HTTP status, Retry-After s) for the next REST request, or None to answer normally."""
        while self._rest_failures:
            failure = self._rest_failures[0]
            if failure.remaining <= 0:
                self._rest_failures.popleft()
                continue
            failure.remaining -= 1
            if failure.remaining == 0:
                self._rest_failures.popleft()
            self.counters["rest_failures"] += 1
            return failure.status, failure.retry_after
        return None

    def _slow_active(self) -> bool:
        if self._slow_until is not None and self._clock() >= self._slow_until:
            self._rest_delay_ms = self._ws_delay_ms = 0.0
            self._slow_until = None
        return bool(self._rest_delay_ms or self._ws_delay_ms)

    def rest_delay_s(self) -> float:
        return self._rest_delay_ms / 1000.0 if self._slow_active() else 0.0

    def ws_delay_s(self) -> float:
        return self._ws_delay_ms / 1000.0 if self._slow_active() else 0.0

    def status(self) -> dict:
        return {
            "pending": {
                "gaps": {f"{s}@{i}ms": n for (s, i), n in self._gaps.items()},
                "silent_for_s": round(max(0.0, self._silent_until - self._clock()), 3),
                "rest_failures": [{"status": f.status, "remaining": f.remaining} for f in self._rest_failures],
                "rest_delay_ms": self._rest_delay_ms,
                "ws_delay_ms": self._ws_delay_ms,
            },
            "counters": dict(self.counters),
            "log": list(self.log),
        }
