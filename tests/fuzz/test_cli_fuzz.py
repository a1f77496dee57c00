"""Every flag of every command, with random values: real ``python -m app`` processes.

The flags are not listed here: ``python -m app --help`` names the commands and ``<command> --help``
their options, so a flag added later is fuzzed too. Each run starts from a quick, harmless base
(port 0, one symbol, a tiny recording, two simulated paths) and adds one to four drawn options,
some through their ``MONITOR_...`` environment variable instead of the command line. A run either
  - exits 0, or
  - exits non-zero with one clear line on stderr (``error: ...``), or
  - starts (it says where it listens, or what it records) and stops cleanly on SIGTERM (what a
    service manager sends; Ctrl-C may be ignored by a process started in the background),
and never prints a traceback. Processes run in a scratch directory; path values are relative to
it, or a few harmless absolute ones, so no drawn value writes outside it.

Subprocesses are slow to start (~0.3 s), so this fuzzer takes a tenth of the profile's examples.
"""
from __future__ import annotations

import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.values import EDGE_FLOATS, EDGE_INTS, ODD_STRINGS, aimed_changes, parameter_sets
from tests.monitor_process import ROOT

DATA = ROOT.parent / "shared" / "data" / "binance" / "2021-08-14"
RECORDING = "BADGERBTC_20210814.gz"
START_MARKERS = ("monitor: http", "exchange listening on", "record: ")  # what a long-running command says first
START_DEADLINE_S = 15.0  # neither started nor finished by then: busy with a valid, big job; stopped like a server
STOP_DEADLINE_S = 45.0  # serve's own stop waits up to 10 s for the feed and 10 s for the exchange; a loaded host is slower
MEMORY_LIMIT = 4 << 30  # address space per process: a value that asks for terabytes fails, it does not swap
SKIPPED = ("-h", "--help", "--debug")  # --debug exists to show tracebacks
CLI_EXAMPLES = max(5, settings().max_examples // 10)


@dataclass(frozen=True)
class Option:
    flag: str
    metavar: str  # "" for a switch
    command: str

    @property
    def choices(self) -> list[str]:
        return self.metavar[1:-1].split(",") if self.metavar.startswith("{") else []

    @property
    def env_name(self) -> str:
        dest = self.flag.lstrip("-").replace("-", "_").upper()
        return f"MONITOR_{dest}" if self.command == "serve" else f"MONITOR_{self.command.upper()}_{dest}"


_OPTION_LINE = re.compile(r"^  (?:-\w, )?(--[a-z][\w-]*)(?: (\S+(?: \S+)*?))?(?:\s{2,}|$)")


def _help(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "app", *args, "--help"], cwd=ROOT, capture_output=True,
                            text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def discover() -> dict[str, list[Option]]:
    """{command: its options} from the help texts."""
    top = _help()
    listed = top.split("\n  COMMAND\n", 1)[1].split("\n\n", 1)[0]
    commands = re.findall(r"^    ([\w-]+)", listed, re.MULTILINE)
    found = {}
    for command in commands:
        options = []
        for line in _help(command).split("options:\n", 1)[1].splitlines():
            match = _OPTION_LINE.match(line)
            if match and match.group(1) not in SKIPPED:
                options.append(Option(match.group(1), match.group(2) or "", command))
        found[command] = options
    return found


@pytest.fixture(scope="module")
def cli(tmp_path_factory):
    """(the options of every command, a scratch directory with a tiny recording in data/)."""
    scratch = tmp_path_factory.mktemp("cli-fuzz")
    (scratch / "data").mkdir()
    for name in (RECORDING, "exchangeInfo.json"):
        shutil.copy(DATA / name, scratch / "data" / name)
    (scratch / "work").mkdir()
    (scratch / "a-file.txt").write_text("not a recording\n")
    return discover(), scratch


def base_args(command: str, scratch: Path) -> list[str]:
    recording = str(scratch / "data" / RECORDING)
    return {
        "serve": ["--source", "sim", "--port", "0", "--symbols", "BTCUSDT"],
        "exchange": ["--port", "0", "--symbols", "BTCUSDT"],
        "record": ["--source", "sim", "--symbols", "BTCUSDT", "--duration", "0.5", "--out", "recorded"],
        "replay": [recording],
        "backtest": [recording, "--strategy", "market_maker"],
        "experiment": ["avellaneda-stoikov", "--paths", "2"],
    }.get(command, [])


# -- values ----------------------------------------------------------------------------------------
plain_text = st.text(st.characters(blacklist_characters="\x00/", blacklist_categories=("Cs",)), max_size=30)
numbers_text = st.one_of(st.integers().map(str), st.floats().map(repr), st.sampled_from(EDGE_INTS).map(str),
                         st.sampled_from(EDGE_INTS).map(lambda n: str(-n)), st.sampled_from(EDGE_FLOATS).map(repr),
                         st.sampled_from(["0", "-0", "1", "-1", "0.5", "1e-300", "0x10", "1_0", " 5 ", ""]))
safe_odd = st.sampled_from([s for s in ODD_STRINGS if "/" not in s and "\x00" not in s])
anything = st.one_of(numbers_text, plain_text, safe_odd)
HINTS = {  # metavar word -> values that get past the first check
    "SYMBOLS": ("BTCUSDT", "btcusdt,ethusdt", "BTCUSDT,BTCUSDT", "ZZZUSDT", "BTC-USDT", ",", "A" * 21),
    "STRATEGIES": ("none", "market_maker,liquidity_taker", "avellaneda_stoikov", "nope", ",,"),
    "HOST": ("0.0.0.0", "localhost", "::1", "256.1.1.1", "example.invalid", "127.0.0.1:80"),
}


def path_values(scratch: Path) -> st.SearchStrategy[str]:
    return st.one_of(plain_text, st.sampled_from([
        ".", "..", "sub/dir/out.csv", "recorded", "/dev/null", str(scratch / "missing" / "deeper" / "x"),
        str(scratch / "data"), str(scratch / "data" / RECORDING), str(scratch / "data" / "exchangeInfo.json"),
        str(scratch / "a-file.txt"), "x" * 300, "-", "--", "~",
    ]))


@st.composite
def pairs(draw) -> str:
    """K=V for --param/--risk: a real field with an aimed value, or anything."""
    sets = parameter_sets()
    if draw(st.booleans()):
        changes, _ = draw(aimed_changes(sets[draw(st.sampled_from(sorted(sets)))]))
        key, value = next(iter(changes.items()))
        return f"{key}={value}"
    return f"{draw(plain_text)}={draw(anything)}"


def values_for(option: Option, scratch: Path) -> st.SearchStrategy[list[str]]:
    """The words after the flag (none for a switch)."""
    meta = option.metavar
    if not meta:
        return st.just([])
    if option.choices:
        one = st.one_of(st.sampled_from(option.choices), anything)
    elif "K=V" in meta:
        one = st.one_of(pairs(), st.builds(lambda k, vs: f"{k}={','.join(vs)}", plain_text,
                                           st.lists(numbers_text, max_size=20)))
    elif any(word in meta for word in ("PATH", "DIR", "FILE", ".csv")) or "dir" in option.flag:
        one = path_values(scratch)
    elif "URL" in meta:
        one = st.one_of(anything, st.sampled_from(["http://127.0.0.1:1/api", "ws://127.0.0.1:1/", "ftp://x",
                                                   "http://[::1", "http://", "wss://"]))
    elif "KIND" in meta:
        one = st.one_of(anything, st.builds(lambda kind, rest: f"{kind}:{rest}",
                                            st.sampled_from(["gap", "disconnect", "malformed", "silence",
                                                             "rest_error", "nope"]),
                                            st.lists(st.builds(lambda k, v: f"{k}={v}", st.sampled_from(
                                                ["symbol", "count", "mode", "form", "seconds", "status", "at",
                                                 "every", "x"]), anything), max_size=3).map(",".join)))
    else:
        hinted = next((words for key, words in HINTS.items() if key in meta), ())
        one = st.one_of(anything, st.sampled_from(hinted)) if hinted else anything
    many = "..." in meta
    return st.lists(one, min_size=0 if meta.startswith("[") else 1, max_size=3 if many else 1)


@st.composite
def invocations(draw, options: dict[str, list[Option]], scratch: Path) -> tuple[list[str], dict[str, str]]:
    """(argv after ``python -m app``, environment variables)."""
    command = draw(st.one_of(st.sampled_from(sorted(options)), st.just(""), plain_text.filter(lambda t: t not in options)))
    known = options.get(command or "serve", [])
    argv = ([command] if command else []) + base_args(command or "serve", scratch)
    env: dict[str, str] = {}
    for option in draw(st.lists(st.sampled_from(known), min_size=1, max_size=4)) if known else []:
        words = draw(values_for(option, scratch))
        if len(words) <= 1 and draw(st.integers(0, 3)) == 0:
            env[option.env_name] = words[0] if words else draw(anything)
        else:
            argv += [option.flag, *words]
    if command in ("replay", "backtest") and draw(st.integers(0, 4)) == 0:
        argv[1] = draw(path_values(scratch))
    return argv, env


# -- running ---------------------------------------------------------------------------------------
@dataclass
class Run:
    returncode: int
    stdout: str
    stderr: str
    interrupted: bool  # it started (or kept working) and was stopped with SIGTERM


def run(argv: list[str], env: dict[str, str], cwd: Path) -> Run:
    """``python -m app *argv``: to the end, or until it says it started (then SIGTERM)."""
    process = subprocess.Popen([sys.executable, "-W", "ignore", "-m", "app", *argv], cwd=cwd,
                               env={**os.environ, "PYTHONPATH": str(ROOT), "PYTHONUNBUFFERED": "1", **env},
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, errors="replace",
                               start_new_session=True)
    resource.prlimit(process.pid, resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))  # long before numpy loads
    out: list[str] = []
    err: list[str] = []
    started = threading.Event()

    def read(stream, lines: list[str]) -> None:
        for line in stream:
            lines.append(line)
            if any(line.startswith(marker) for marker in START_MARKERS):
                started.set()

    readers = [threading.Thread(target=read, args=(process.stdout, out), daemon=True),
               threading.Thread(target=read, args=(process.stderr, err), daemon=True)]
    for reader in readers:
        reader.start()
    deadline = time.monotonic() + START_DEADLINE_S
    while process.poll() is None and not started.is_set() and time.monotonic() < deadline:
        started.wait(0.05)  # wakes on the marker; the poll notices an exit
    interrupted = process.poll() is None
    if interrupted:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(STOP_DEADLINE_S)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise AssertionError(f"`python -m app {' '.join(argv)}` ignored SIGTERM for {STOP_DEADLINE_S} s:\n"
                                 + "".join(out[-5:] + err[-20:]))
    for reader in readers:
        reader.join(10)
    return Run(process.returncode, "".join(out), "".join(err), interrupted)


def outcome_problems(result: Run) -> list[str]:
    problems = []
    if "Traceback" in result.stdout + result.stderr:
        problems.append("a traceback")
    if result.interrupted:
        if result.returncode not in (0, 130, -signal.SIGTERM):  # 130: serve's KeyboardInterrupt; -15: a batch job
            problems.append(f"exit {result.returncode} after SIGTERM")
        return problems
    if result.returncode < 0:
        problems.append(f"killed by signal {-result.returncode}")
    elif result.returncode != 0:
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        errors = [line for line in lines if line.startswith("error:")]
        if len(errors) != 1 or lines[-1] != errors[0]:
            problems.append("not one error line at the end of stderr")
    return problems


@pytest.mark.fuzz
@settings(max_examples=CLI_EXAMPLES)
@given(invocation=st.data())
def test_every_flag_of_every_command_takes_any_value_with_one_clear_line_or_a_clean_run(cli, invocation):
    options, scratch = cli
    argv, env = invocation.draw(invocations(options, scratch), label="invocation")
    result = run(argv, env, scratch / "work")
    shown = f"env {env} python -m app {' '.join(argv)} -> exit {result.returncode}\n{result.stderr[-3000:]}"
    assert outcome_problems(result) == [], shown


def test_discovery_finds_every_command_and_its_options(cli):
    options, _ = cli
    assert {"serve", "exchange", "record", "replay", "backtest", "experiment"} <= set(options)
    assert all(options.values()), "every command has options"
    assert {"--port", "--rate", "--state-dir"} <= {o.flag for o in options["serve"]}


# -- what the fuzzer found, kept as regression tests ----------------------------------------------
@pytest.mark.parametrize("argv, says", [
    (["exchange", "--rate", "1e12"], "rate out of range"),  # asked for 34 TiB
    (["exchange", "--speed", "1e300"], "speed out of range"),  # overflowed the clock: a traceback every pump
    (["serve", "--source", "sim", "--port", "0", "--rate", "1000"], "rate out of range"),  # 15 s to stop
    (["record", "--source", "sim", "--rate", "1e9"], "rate out of range"),
], ids=["exchange-rate", "exchange-speed", "serve-rate", "record-rate"])
def test_a_market_the_model_cannot_generate_is_refused_in_one_line(cli, argv, says):
    result = run(argv, {}, cli[1] / "work")
    assert not result.interrupted and result.returncode == 2, result
    assert result.stderr.startswith("error: ") and says in result.stderr and result.stderr.count("\n") == 1
