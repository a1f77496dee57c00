"""The settings file as the state directory may hold it: any bytes, any JSON, and settings-shaped
documents with values aimed at every declared range.

``Engine(..., settings=SettingsStore(dir).load())`` starts, processes a real recording with no
fault, and applies no out-of-range value: every parameter and limit passes its ``Spec.admits()``,
and a stored value outside its range leaves the value a fresh engine has. One real process too:
``serve --state-dir`` on a garbage directory serves /health and processes market data.
"""
from __future__ import annotations

import json
import tempfile
from dataclasses import fields
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.settings_store import SettingsStore
from strategies.registry import STRATEGIES
from strategies.risk import RiskLimits
from tests.app.test_engine import SYMBOLS, build_engine, replay
from tests.fuzz.values import aimed_changes, json_leaves, json_values, parameter_sets, texts
from tests.web.live import LiveMonitor

MESSAGES = 150  # enough of the recordings for both books to sync and the market maker to quote


@st.composite
def settings_documents(draw) -> tuple[dict, list[tuple[str, str, str]]]:
    """A settings-shaped document; (it, [(symbol, set name, field) stored outside its range])."""
    sets = parameter_sets()
    outside = []
    symbols = {}
    for symbol in draw(st.lists(st.one_of(st.sampled_from(SYMBOLS), texts), max_size=3, unique=True)):
        entry: dict = {}
        strategies = {}
        for name in draw(st.lists(st.sampled_from(sorted(STRATEGIES)), max_size=3, unique=True)):
            changes, refused = draw(aimed_changes(sets[name]))
            strategies[name] = {"enabled": draw(json_leaves), "params": changes}
            outside += [(symbol, name, field) for field in refused]
        if strategies or draw(st.booleans()):
            entry["strategies"] = draw(st.one_of(st.just(strategies), json_values)) if draw(st.booleans()) \
                else strategies
        if draw(st.booleans()):
            changes, refused = draw(aimed_changes(sets["risk_limits"]))
            entry["risk_limits"] = changes
            outside += [(symbol, "risk_limits", field) for field in refused]
        if draw(st.booleans()):
            entry["risk_paused"] = draw(json_leaves)
        symbols[symbol] = draw(st.one_of(st.just(entry), json_values)) if draw(st.integers(0, 9)) == 0 else entry
    # (a field stored in an entry the draw then replaced is simply not stored: it keeps its value too)
    return {"streaming": draw(json_leaves), "symbols": symbols}, outside


def _file_bytes(document) -> bytes:
    return json.dumps(document, allow_nan=True).encode()


files = st.one_of(
    st.binary(max_size=2000),
    json_values.map(_file_bytes),
    settings_documents().map(lambda pair: _file_bytes(pair[0])),
    st.integers(1, 200_000).map(lambda depth: b"[" * depth + b"]" * depth),
    st.sampled_from([b"", b"{", b"null", b"\xff\xfe{}", b'{"symbols": ' * 5000]),
)


def applied_values(engine) -> list[tuple[str, str, str, object]]:
    """(symbol, set name, field, value) for every parameter and limit the engine runs with."""
    rows = []
    for symbol, entry in engine.settings()["symbols"].items():
        sets = {name: slot["params"] for name, slot in entry["strategies"].items()}
        sets["risk_limits"] = entry["risk_limits"]
        for name, values in sets.items():
            rows += [(symbol, name, field, value) for field, value in values.items()]
    return rows


def spec(set_name: str, field: str):
    cls = RiskLimits if set_name == "risk_limits" else STRATEGIES[set_name].Params
    return next(f.metadata["spec"] for f in fields(cls) if f.name == field)


def start_on(content: bytes):
    """An engine restored from ``content`` as settings.json, after MESSAGES of the recordings."""
    with tempfile.TemporaryDirectory() as state_dir:
        (Path(state_dir) / "settings.json").write_bytes(content)
        engine, clock = build_engine(settings=SettingsStore(Path(state_dir)).load())
    replay(engine, clock, limit=MESSAGES)
    return engine


def assert_runs_in_range(engine) -> None:
    assert all(engine.market.stats(s).messages > 0 for s in SYMBOLS) and all(engine.market.synced(s) for s in SYMBOLS)
    assert engine.faults.total == 0, engine.faults.as_dict()
    bad = [row for row in applied_values(engine) if not spec(row[1], row[2]).admits(row[3])]
    assert bad == []


@pytest.mark.fuzz
@given(content=files)
def test_any_settings_file_starts_an_engine_that_runs_only_in_range_values(content):
    assert_runs_in_range(start_on(content))


@pytest.mark.fuzz
@given(stored=settings_documents())
def test_a_stored_value_outside_its_range_is_never_applied(stored):
    document, outside = stored
    fresh = {row[:3]: row[3] for row in applied_values(build_engine()[0])}
    engine = start_on(_file_bytes(document))
    assert_runs_in_range(engine)
    now = {row[:3]: row[3] for row in applied_values(engine)}
    assert [(key, now[key]) for key in outside if key in now and now[key] != fresh[key]] == []


# -- what the fuzzer found, kept as regression tests ------------------------------------------------
@pytest.mark.parametrize("content", [b"[" * 100_000 + b"]" * 100_000, b'{"a": ' * 5000 + b"1" + b"}" * 5000,
                                     b"\x80", b'{"streaming": "\xff"}'],
                         ids=["deep-list", "deep-object", "not-utf8", "not-utf8-inside"])
def test_a_settings_file_the_parser_cannot_read_is_moved_aside(tmp_path, content):
    (tmp_path / "settings.json").write_bytes(content)
    assert SettingsStore(tmp_path).load() == {}
    assert (tmp_path / "settings.json.corrupt").read_bytes() == content


def test_a_monitor_started_on_a_garbage_state_dir_serves_and_processes(tmp_path):
    (tmp_path / "settings.json").write_bytes(b"[" * 100_000)
    with LiveMonitor("BTCUSDT", extra=("--state-dir", str(tmp_path))) as monitor:  # /ready answered 200
        first = monitor.get("/health")[1]["symbols"]["BTCUSDT"]["msgs"]
        monitor.wait_until(lambda: monitor.get("/health")[1]["symbols"]["BTCUSDT"]["msgs"] > first,
                           "BTCUSDT messages to rise", timeout_s=30)
    assert (tmp_path / "settings.json.corrupt").exists()
    assert not any("Traceback" in line for line in monitor.output), "".join(monitor.output)


def test_an_in_range_gamma_restored_onto_a_wide_real_book_runs_without_a_fault():
    # the first fuzz find: avellaneda_stoikov at gamma 100 on FTMUSDT divided by an implied k of 0
    stored = {"symbols": {"FTMUSDT": {"strategies": {"avellaneda_stoikov": {"enabled": True,
                                                                             "params": {"gamma": 100.0}}}}}}
    engine = start_on(_file_bytes(stored))
    assert engine.settings()["symbols"]["FTMUSDT"]["strategies"]["avellaneda_stoikov"]["params"]["gamma"] == 100.0
    assert_runs_in_range(engine)
