"""What a hostile client sends, as hypothesis strategies: any JSON value, and values aimed at every
declared parameter range (``Parameters.describe()``): at its ends, just past them, of the wrong type.

Aimed values carry their verdict, worked out from the declared range alone (never by asking the
code under test): OUTSIDE must be refused naming the field; INSIDE may still be refused by a rule
across fields, but is never applied out of range.
"""
from __future__ import annotations

import math
from typing import Any

from hypothesis import strategies as st

from strategies.registry import STRATEGIES
from strategies.risk import RiskLimits

INSIDE, OUTSIDE = "inside", "outside"

# Integers at the edges of what JSON, JavaScript, int64 and float64 carry.
EDGE_INTS = (2**31, 2**53 - 1, 2**53, 2**53 + 1, 2**63 - 1, 2**63, 2**64, 10**20, 10**400)
EDGE_FLOATS = (1e308, -1e308, 5e-324, -0.0, 1e-300, math.inf, -math.inf, math.nan)
# Strings that parse as numbers or words somewhere, or break a careless parser.
ODD_STRINGS = ("", " ", "0", "-0", "1e3", "0x10", "1_000", "inf", "-inf", "nan", "NaN", "Infinity", "1e309",
               "true", "yes", "null", "None", "[]", "{}", "\x00", "\u202e", "\ud7ff", "🙂", "%s%n", "{0}",
               "../../etc/passwd", "<script>alert(1)</script>", "x" * 41, "9" * 400)

texts = st.one_of(st.sampled_from(ODD_STRINGS), st.text(max_size=40),
                  st.integers(0, 3000).map(lambda n: "x" * n))
numbers = st.one_of(st.integers(), st.sampled_from(EDGE_INTS), st.sampled_from(EDGE_INTS).map(lambda n: -n),
                    st.floats(), st.sampled_from(EDGE_FLOATS))
json_leaves = st.one_of(st.none(), st.booleans(), numbers, texts)
json_values = st.recursive(
    json_leaves,
    lambda children: st.one_of(st.lists(children, max_size=8), st.dictionaries(texts, children, max_size=8)),
    max_leaves=40,
)


def parameter_sets() -> dict[str, dict[str, dict[str, Any]]]:
    """Every settable set and its described fields: each strategy's Params and the risk limits."""
    sets = {name: cls.Params.describe() for name, cls in STRATEGIES.items()}
    sets["risk_limits"] = RiskLimits.describe()
    return sets


def aimed(entry: dict[str, Any]) -> st.SearchStrategy[tuple[str, Any]]:
    """(verdict, value) pairs for one described field."""
    kind = entry["type"]
    inside: list[Any] = [entry["default"]]
    outside: list[Any] = [None, [], {}, [entry["default"]], {"value": entry["default"]}, "x" * 41, "9" * 400]
    if kind in ("int", "float"):
        lo, hi = entry["min"], entry["max"]
        open_low = entry["allowed"].split(" in ", 1)[1].startswith("(")
        zero_means = entry["allowed"].startswith("0 (")
        inside += [hi, str(hi), f" {hi} ", (lo + hi) / 2 if kind == "float" else (lo + hi) // 2]
        if not open_low:
            inside.append(lo)
        outside += [True, False, "inf", "-inf", "nan", "1e309", math.inf, -math.inf, math.nan, "ten", "1,5"]
        outside += [n for n in EDGE_INTS + tuple(-n for n in EDGE_INTS) if not lo <= n <= hi]
        outside.append(lo if open_low else None)
        if kind == "int":
            inside += [float(hi), f"{hi}.0"]
            outside += [lo - 1, hi + 1, hi + 0.5, str(hi + 1), "1.5", 2.5]
        else:
            inside += [math.nextafter(hi, -math.inf), int(hi)]
            outside += [math.nextafter(hi, math.inf), hi * 2 + 1, 1e308 if hi < 1e308 else None]
            if not open_low:
                inside.append(math.nextafter(lo, math.inf))
            below = math.nextafter(lo, -math.inf)
            if not (zero_means and below == 0):
                outside.append(below)
        if zero_means:
            inside.append(0)
    elif kind == "bool":
        inside += [True, False, "true", "no", " ON ", "0"]
        outside += [0, 1, 2, "2", "maybe", 1.0]
    else:
        inside += list(entry["choices"])
        outside += [c.upper() + "!" for c in entry["choices"]] + [0, True, "  "]
    return st.one_of(st.sampled_from([v for v in inside if v is not None]).map(lambda v: (INSIDE, v)),
                     st.sampled_from([v for v in outside if v is not None]).map(lambda v: (OUTSIDE, v)))


@st.composite
def aimed_changes(draw, entries: dict[str, dict[str, Any]]) -> tuple[dict[str, Any], list[str]]:
    """One to three fields of a set, each with an aimed value: (changes, names of fields given OUTSIDE values)."""
    names = draw(st.lists(st.sampled_from(sorted(entries)), min_size=1, max_size=3, unique=True))
    changes, refused = {}, []
    for name in names:
        verdict, value = draw(aimed(entries[name]))
        changes[name] = value
        if verdict == OUTSIDE:
            refused.append(name)
    return changes, refused
