"""`python -m app serve`: the monitor (web page, Socket.IO pushes, engine, feed)."""
from __future__ import annotations

import argparse
from pathlib import Path

from app.config import SOURCES, MonitorConfig
from app.options import DEFAULT_SYMBOLS, market_rate, port_number, positive_float, symbol_list


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--source", choices=SOURCES, default="auto",
                        help="auto tries Binance and falls back to the embedded exchange (default: auto)")
    parser.add_argument("--symbols", type=symbol_list, default=symbol_list(DEFAULT_SYMBOLS),
                        help=f"comma-separated symbols (default: {DEFAULT_SYMBOLS})")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
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
    parser.add_argument("--state-dir", type=Path, default=None,
                        help="where control-panel settings persist (default: none)")
    parser.add_argument("--record", type=Path, default=None, metavar="DIR",
                        help="also record every received frame to DIR")


def build_config(args: argparse.Namespace) -> MonitorConfig:
    from app.cli import UserError

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
    return MonitorConfig(
        symbols=tuple(args.symbols),
        source=args.source,
        host=args.host,
        port=args.port,
        seed=args.seed,
        strategies_enabled=enabled,
        replay_files=tuple(args.replay),
        replay_speed=args.speed,
        exchange_rate=args.rate,
        state_dir=args.state_dir,
        record_dir=args.record,
    )


def run(args: argparse.Namespace) -> int:
    import signal

    config = build_config(args)
    from app import green

    def terminate(signum, frame):  # a service manager's stop: shut down as cleanly as on Ctrl-C
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, terminate)

    green.monkey_patch()
    from app.runtime import Monitor

    monitor = Monitor(config)
    return monitor.run_forever()
