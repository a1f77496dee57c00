"""`python -m app serve`: the monitor (web page, Socket.IO pushes, engine, feed)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

from app.config import SOURCES, MonitorConfig
from app.options import (
    DEFAULT_SYMBOLS, add_fee_arguments, host_list, market_rate, origin_list, port_number, positive_float,
    symbol_list,
)
from app.state_dir import default_state_dir

TOKEN_VARIABLE = "MONITOR_TOKEN"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", choices=SOURCES, default="auto",
                        help="auto tries Binance and falls back to the embedded exchange (default: auto)")
    parser.add_argument("--symbols", type=symbol_list, default=symbol_list(DEFAULT_SYMBOLS),
                        help=f"comma-separated symbols (default: {DEFAULT_SYMBOLS})")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--allowed-hosts", type=host_list, default=(), metavar="NAMES",
                        help="host names served besides localhost/127.0.0.1/::1 and --host, comma-separated; "
                             "* = any (default: none)")
    parser.add_argument("--allowed-origins", type=origin_list, default=(), metavar="ORIGINS",
                        help="pages that may send commands besides the monitor's own, comma-separated "
                             "scheme://name[:port]; * = any (default: none)")
    parser.add_argument("--token-file", type=Path, default=None, metavar="FILE",
                        help="file holding the token every control action needs (or set MONITOR_TOKEN); "
                             "watching needs none (default: no token)")
    parser.add_argument("--allow-unauthenticated", action="store_true",
                        help="serve a non-loopback --host without a token (anyone who reaches it can control it)")
    parser.add_argument("--port", type=port_number, default=8080, help="HTTP port, 0 = any free port (default: 8080)")
    parser.add_argument("--seed", type=int, default=7, help="seed of the embedded exchange and strategies")
    parser.add_argument("--replay", nargs="*", default=[], metavar="FILE",
                        help="recordings to replay with --source replay")
    parser.add_argument("--speed", type=positive_float, default=1.0,
                        help="replay speed factor, 0 = as fast as possible (default: 1)")
    parser.add_argument("--rate", type=market_rate, default=1.0,
                        help="activity of the embedded exchange's market (default: 1)")
    parser.add_argument("--strategies", default="market_maker",
                        help="strategies enabled at start, comma-separated, or 'none' (default: market_maker)")
    add_fee_arguments(parser)
    parser.add_argument("--state-dir", type=Path, default=None,
                        help=f"where the paper account and control-panel settings persist "
                             f"(default: {default_state_dir()}; replay: none)")
    parser.add_argument("--memory-only", action="store_true",
                        help="keep the account and settings in memory only: nothing is written to disk")
    parser.add_argument("--record", type=Path, default=None, metavar="DIR",
                        help="also record every received frame to DIR")


def build_config(args: argparse.Namespace) -> MonitorConfig:
    from app.cli import UserError
    from app.exposure import is_loopback
    from strategies.fees import FeeSchedule

    enabled = tuple(s for s in args.strategies.replace(" ", "").split(",") if s and s != "none")
    known = MonitorConfig().strategies
    for name in enabled:
        if name not in known:
            raise UserError(f"unknown strategy {name!r}; known: {', '.join(known)}")
    if args.source == "replay" and not args.replay:
        raise UserError("--source replay needs --replay FILE...")
    for path in args.replay:
        if not Path(path).is_file():
            raise UserError(f"cannot read recording {path}")
    token = _control_token(os.environ.get(TOKEN_VARIABLE), args.token_file)
    if token is None and not is_loopback(args.host) and not args.allow_unauthenticated:
        raise UserError(f"--host {args.host} is reachable from other machines: set {TOKEN_VARIABLE} or --token-file "
                        "so that only you can control the monitor, or pass --allow-unauthenticated")
    if args.memory_only and args.state_dir is not None:
        raise UserError("--memory-only and --state-dir exclude each other")
    state_dir = args.state_dir
    if state_dir is None and not args.memory_only and args.source != "replay":  # a replay is not the account
        state_dir = default_state_dir()
    return MonitorConfig(
        symbols=tuple(args.symbols),
        source=args.source,
        fees=FeeSchedule(args.maker_fee_bps, args.taker_fee_bps),
        host=args.host,
        allowed_hosts=tuple(args.allowed_hosts),
        allowed_origins=tuple(args.allowed_origins),
        token=token,
        port=args.port,
        seed=args.seed,
        strategies_enabled=enabled,
        replay_files=tuple(args.replay),
        replay_speed=args.speed,
        exchange_rate=args.rate,
        state_dir=state_dir,
        record_dir=args.record,
    )


def _control_token(from_environment: str | None, token_file: Path | None) -> str | None:
    """The control token from MONITOR_TOKEN or --token-file (not both); None when neither is given."""
    from app.cli import UserError
    from app.exposure import check_token

    if from_environment is not None and token_file is not None:
        raise UserError(f"give the token in {TOKEN_VARIABLE} or --token-file, not both")
    if token_file is not None:
        try:
            text = token_file.read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read --token-file {token_file}: {getattr(exc, 'strerror', None) or exc}") \
                from None
        source = f"--token-file {token_file}"
    elif from_environment is not None:
        text, source = from_environment, TOKEN_VARIABLE
    else:
        return None
    try:
        return check_token(text, source)
    except ValueError as exc:
        raise UserError(str(exc)) from None


def run(args: argparse.Namespace) -> int:
    import signal
    import sys

    from app.exposure import WILDCARD_ADDRESSES

    config = build_config(args)
    if config.host in WILDCARD_ADDRESSES and not config.allowed_hosts:
        print(f"monitor: listening on every interface ({config.host}), but only loopback names are served: "
              "list the names clients use with --allowed-hosts", file=sys.stderr)
    from app import green

    def terminate(signum, frame):  # a service manager's stop: shut down as cleanly as on Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)

    green.monkey_patch()
    from app.runtime import Monitor

    monitor = Monitor(config)
    return monitor.run_forever()
