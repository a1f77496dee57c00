"""The command line: `python -m app [serve|exchange|record|replay|backtest|experiment] ...`.

Each subcommand lives in ``app.commands.<name>`` with ``add_arguments(parser)`` and
``run(args) -> int``; modules import their heavy dependencies inside ``run`` so that ``--help``
and argument errors stay instant. Every option can also come from the environment:
``MONITOR_<OPTION>`` for ``serve`` (MONITOR_PORT, MONITOR_SOURCE, ...) and
``MONITOR_<COMMAND>_<OPTION>`` for the others (MONITOR_EXCHANGE_PORT, ...).
"""
from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback

COMMANDS = {
    "serve": "run the monitor (the default command)",
    "exchange": "run the embedded Binance-compatible exchange alone",
    "record": "record raw frames from an exchange to gzip files",
    "replay": "replay recordings through the feed pipeline",
    "backtest": "run a strategy over recordings, deterministically",
    "experiment": "reproduce a published experiment (avellaneda-stoikov)",
}


class UserError(Exception):
    """Bad input from the user: reported as one line on stderr, exit status 2."""


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line (no usage dump), exit status 2."""

    def error(self, message: str):  # type: ignore[override]
        self.exit(2, f"error: {self.prog}: {message} (see --help)\n")


def _env_name(command: str, dest: str) -> str:
    prefix = "MONITOR_" if command == "serve" else f"MONITOR_{command.upper()}_"
    return prefix + dest.upper()


def _apply_env_defaults(command: str, parser: argparse.ArgumentParser) -> None:
    """Environment variables override the built-in defaults; the command line overrides both."""
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help",):
            continue
        name = _env_name(command, action.dest)
        value = os.environ.get(name)
        if value is None:
            continue
        try:
            _set_default(action, value)
        except (argparse.ArgumentTypeError, ValueError) as exc:
            parser.error(f"environment variable {name}={value!r}: {exc}")


def _set_default(action: argparse.Action, value: str) -> None:
    convert = action.type or str
    if isinstance(action, (argparse._StoreTrueAction, argparse._StoreFalseAction)):
        action.default = value.strip().lower() in ("1", "true", "yes", "on")
    elif action.nargs in ("*", "+"):
        action.default = [convert(v) for v in value.split()]
    elif action.choices is not None and value not in action.choices:
        raise ValueError(f"must be one of {', '.join(map(str, action.choices))}")
    else:
        action.default = convert(value)


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="python -m app",
        description="Real-time Binance trading monitor with strategy simulation.",
    )
    parser.add_argument("--debug", action="store_true", default=os.environ.get("MONITOR_DEBUG") == "1",
                        help="show tracebacks for unexpected errors")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineParser)
    for name, help_text in COMMANDS.items():
        module = importlib.import_module(f"app.commands.{name}")
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command_parser)
        _apply_env_defaults(name, command_parser)
        command_parser.set_defaults(_module=module)
    return parser


def _with_default_command(argv: list[str]) -> list[str]:
    """`python -m app [--debug] [serve options]` means `serve`: insert it after the global flags."""
    position = 0
    while position < len(argv) and argv[position] == "--debug":
        position += 1
    rest = argv[position:]
    if rest and (not rest[0].startswith("-") or rest[0] in ("-h", "--help")):
        return argv  # a command (or a mistyped one, which argparse names), or help
    return [*argv[:position], "serve", *rest]


def main(argv: list[str] | None = None) -> int:
    argv = _with_default_command(list(sys.argv[1:] if argv is None else argv))
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._module.run(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line, never a traceback, unless asked for
        if args.debug:
            traceback.print_exc()
        else:
            print(f"error: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
