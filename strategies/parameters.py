"""Parameter sets: every field declares its type, unit and range, checked wherever a value enters.

Values arrive from outside in three ways: CLI ``k=v`` strings, control-panel JSON (from any client,
hostile ones included) and the settings file read back from the state directory. All three go
through ``Parameters.from_mapping``, and a set built directly in code is checked the same way on
construction, so no value outside its field's range ever reaches a strategy or the risk manager.

The rules, each pinned by a test in tests/strategies/test_parameters.py:
  - Every field is declared with ``number``, ``integer``, ``flag`` or ``choice``: a default, a
    unit and a closed range (``lo``/``hi``; ``lo_open`` makes the lower end exclusive; ``zero``
    names what 0 means when 0 is allowed besides the range, as in "0 = estimate online").
  - Types are strict. A bool is never a number (``levels: true`` is refused, not read as 1);
    an integer field takes an int, an integral float (``5.0``) or a string of one; a number field
    takes an int, a float or a numeric string; a flag takes a bool or one of the words in
    ``TRUE_WORDS`` / ``FALSE_WORDS``; a choice takes one of its listed strings.
  - Numbers must be finite ("inf", 1e309 and NaN are refused) and inside the range; integer
    ranges never reach past ``JSON_SAFE_INT`` so every value stays exact in JSON and in the
    page's JavaScript numbers.
  - A refusal raises ParameterError naming the class, the field, the allowed range with its
    unit, and (shortened) the value given; nothing is changed.
  - ``validate`` is left to the subclasses for checks that involve more than one field.
  - ``from_stored`` is the lenient reading of saved settings: each stored value that no longer
    validates is left out (the current value is kept) and reported, never applied.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, fields
from typing import Any, Mapping

JSON_SAFE_INT = 2**53 - 1  # the largest integer a JavaScript number (the page) holds exactly
TRUE_WORDS = ("1", "true", "yes", "on")
FALSE_WORDS = ("0", "false", "no", "off")
SHOWN_CHARS = 40  # how much of a refused value an error message repeats

# Ranges shared by many fields, one home each.
BPS_MAX = 10_000.0  # 100 %: no spread, collar or threshold in basis points means more
MS_MAX = 7 * 86_400_000  # a week: the longest timer, window or age a parameter may set, in ms
S_MAX = 7 * 86_400.0  # the same week in seconds
LOTS_MAX = 10**12  # order sizes and inventories in lots (10^12 steps of the smallest size)
TICKS_MAX = 10**9  # price distances in ticks
MONEY_MAX = 1e15  # amounts of quote currency (notional, losses): beyond any account, exact in a float


class ParameterError(ValueError):
    """A strategy or risk parameter that is unknown, of the wrong type, or out of range."""


def require(condition: bool, message: str) -> None:
    """Cross-field check helper: raise ParameterError(message) unless condition holds."""
    if not condition:
        raise ParameterError(message)


def shown(value: Any) -> str:
    """``repr(value)`` cut to SHOWN_CHARS, so an oversized value cannot flood an ack or the log."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 3] + "..."


@dataclass(frozen=True)
class Spec:
    """One field's contract: its kind (int, float, bool or str), unit, range or choices."""

    kind: type
    unit: str = ""
    lo: float | None = None
    hi: float | None = None
    lo_open: bool = False
    choices: tuple[str, ...] = ()
    zero: str = ""  # what 0 means, when 0 is allowed outside [lo, hi] ("" = it is not)

    def describe(self) -> str:
        """The allowed values in words, as an ack shows them: "a number in (0, 10000] bps"."""
        unit = f" {self.unit}" if self.unit else ""
        if self.kind is bool:
            return "true or false"
        if self.kind is str:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        what = "an integer" if self.kind is int else "a number"
        left = "(" if self.lo_open else "["
        text = f"{what} in {left}{_number_text(self.lo)}, {_number_text(self.hi)}]{unit}"
        return f"0 ({self.zero}) or {text}" if self.zero else text

    def parse(self, raw: Any) -> Any:
        """The value ``raw`` stands for, or ValueError; the range is not checked here."""
        kind = self.kind
        if kind is bool:
            if isinstance(raw, bool):
                return raw
            if isinstance(raw, str):
                word = raw.strip().lower()
                if word in TRUE_WORDS:
                    return True
                if word in FALSE_WORDS:
                    return False
            raise ValueError(raw)
        if isinstance(raw, bool):
            raise ValueError(raw)  # True is an int to Python, never a number to a user
        if kind is str:
            if isinstance(raw, str) and raw in self.choices:
                return raw
            raise ValueError(raw)
        if isinstance(raw, str):
            raw = _parse_number_text(raw, kind)
        if kind is int:
            if isinstance(raw, float):
                if not raw.is_integer():
                    raise ValueError(raw)
                return int(raw)
            if isinstance(raw, int):
                return raw
            raise ValueError(raw)
        if isinstance(raw, (int, float)):
            return float(raw)  # an int past float's range raises OverflowError: the caller refuses it
        raise ValueError(raw)

    def admits(self, value: Any) -> bool:
        """True when an already-typed ``value`` is of this kind and inside the range."""
        kind = self.kind
        if kind is bool:
            return isinstance(value, bool)
        if kind is str:
            return isinstance(value, str) and value in self.choices
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return False
        if kind is int and not isinstance(value, int):
            return False
        if isinstance(value, float) and not math.isfinite(value):
            return False
        if self.zero and value == 0:
            return True
        if self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo):
            return False
        return self.hi is None or value <= self.hi


def _name_text(name: Any) -> str:
    """A parameter name as an error shows it: bare when it looks like one, else shortened repr."""
    return name if isinstance(name, str) and name.isidentifier() and len(name) <= SHOWN_CHARS else shown(name)


def _number_text(bound: float | None) -> str:
    if bound is None:
        return "..."
    if isinstance(bound, float) and bound.is_integer():
        bound = int(bound)
    return f"{bound:g}" if isinstance(bound, float) else str(bound)


def _parse_number_text(text: str, kind: type) -> int | float:
    text = text.strip()
    if len(text) > SHOWN_CHARS:
        raise ValueError(text)  # no real setting is written with more than 40 characters
    if kind is int:
        try:
            return int(text)
        except ValueError:
            pass  # "5.0" or "1e3": an integral float is fine, checked by the caller
    return float(text)


def _declare(default: Any, spec: Spec) -> Any:
    if not spec.admits(default):
        raise TypeError(f"default {default!r} is not {spec.describe()}")
    return field(default=default, metadata={"spec": spec})


def number(default: float, lo: float, hi: float, unit: str = "", *, lo_open: bool = False, zero: str = "") -> Any:
    """A finite float field in [lo, hi] (or (lo, hi] with lo_open); also 0 when ``zero`` says what it means."""
    return _declare(float(default), Spec(float, unit, float(lo), float(hi), lo_open, zero=zero))


def integer(default: int, lo: int, hi: int, unit: str = "") -> Any:
    """An int field in [lo, hi]; both ends within +/- JSON_SAFE_INT."""
    if not -JSON_SAFE_INT <= lo <= hi <= JSON_SAFE_INT:
        raise TypeError(f"integer range [{lo}, {hi}] must lie within +/- {JSON_SAFE_INT}")
    return _declare(default, Spec(int, unit, lo, hi))


def flag(default: bool) -> Any:
    return _declare(default, Spec(bool))


def choice(default: str, *choices: str) -> Any:
    return _declare(default, Spec(str, choices=choices))


def spec_of(cls: type, name: str) -> Spec:
    return next(f.metadata["spec"] for f in fields(cls) if f.name == name)


@dataclass(frozen=True)
class Parameters:
    """Base for frozen parameter sets. Subclasses declare fields with number/integer/flag/choice
    and override ``validate`` for checks across fields."""

    def __post_init__(self) -> None:
        owner = type(self).__name__
        for f in fields(self):
            spec = f.metadata.get("spec")
            if spec is None:
                raise TypeError(f"{owner}.{f.name} has no declared type, unit and range")
            value = getattr(self, f.name)
            if not spec.admits(value):
                raise ParameterError(f"{owner}: {f.name} must be {spec.describe()}, got {shown(value)}")
        self.validate()

    def validate(self) -> None:
        """Raise ParameterError with a clear message when fields contradict each other."""

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "Parameters":
        """Build from strings or numbers (CLI ``k=v`` pairs, control-panel JSON, saved settings)."""
        return cls(**cls._converted(values))

    @classmethod
    def _converted(cls, values: Mapping[str, Any]) -> dict[str, Any]:
        known = {f.name: f.metadata["spec"] for f in fields(cls)}
        unknown = [name for name in values if name not in known]
        if unknown:
            named = ", ".join(_name_text(name) for name in unknown[:5]) + (" ..." if len(unknown) > 5 else "")
            raise ParameterError(
                f"{cls.__name__}: unknown parameter(s) {named}; known: {', '.join(sorted(known))}"
            )
        return {name: cls._convert(name, known[name], raw) for name, raw in values.items()}

    @classmethod
    def _convert(cls, name: str, spec: Spec, raw: Any) -> Any:
        try:
            value = spec.parse(raw)
        except (TypeError, ValueError, ArithmeticError):
            value = None
        if value is None or not spec.admits(value):
            raise ParameterError(f"{cls.__name__}: {name} must be {spec.describe()}, got {shown(raw)}")
        return value

    @classmethod
    def from_stored(cls, values: Any, base: "Parameters | None" = None) -> tuple["Parameters", list[str]]:
        """Saved settings read back: ``base`` (defaults when None) with every stored value that
        still validates; each one that does not is left out and described in the returned list."""
        current = base if base is not None else cls()
        if not isinstance(values, Mapping):
            return current, [f"{cls.__name__}: stored parameters are not an object, got {shown(values)}"]
        merged, problems = current.as_dict(), []
        for name, raw in values.items():
            try:
                merged.update(cls._converted({name: raw}))
            except ParameterError as exc:
                problems.append(str(exc))
        try:
            return cls(**merged), problems
        except ParameterError as exc:
            return current, problems + [f"{exc} (stored values left out)"]

    def replace(self, **changes: Any) -> "Parameters":
        merged = self.as_dict()
        merged.update(type(self)._converted(changes))
        return type(self)(**merged)

    def as_dict(self) -> dict[str, Any]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def describe(cls) -> dict[str, dict[str, Any]]:
        """Every field's default, type, unit and range (JSON-safe), for help texts and the page."""
        out = {}
        for f in fields(cls):
            spec: Spec = f.metadata["spec"]
            entry: dict[str, Any] = {"default": f.default, "type": spec.kind.__name__, "allowed": spec.describe()}
            if spec.unit:
                entry["unit"] = spec.unit
            if spec.kind in (int, float):
                entry.update(min=spec.lo, max=spec.hi)
            if spec.choices:
                entry["choices"] = list(spec.choices)
            out[f.name] = entry
        return out
