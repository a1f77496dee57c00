"""`python -m app exchange`: the embedded Binance-compatible exchange alone.

Serves Binance's spot REST (/api/v3/...) and streams (/stream?streams=..., /ws/...) on one port,
driven by the seeded market model, until interrupted. Faults can be injected at startup with
``--fault KIND[:key=value,...]`` (repeatable) or later through ``POST /admin/faults``; see
``feeds.exchange.faults`` for the kinds.
"""
from __future__ import annotations

import argparse

from app.options import DEFAULT_SYMBOLS, market_rate, market_speed, port_number, positive_float, symbol_list


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=port_number, default=9443,
                        help="port for REST and WebSocket, 0 = any free port (default: 9443)")
    parser.add_argument("--symbols", type=symbol_list, default=symbol_list(DEFAULT_SYMBOLS),
                        help=f"comma-separated symbols to list (default: {DEFAULT_SYMBOLS})")
    parser.add_argument("--seed", type=int, default=1, help="market seed: the same seed gives the same market")
    parser.add_argument("--rate", type=market_rate, default=1.0,
                        help="order-flow activity: 0.1 quiet, 1 calm (default), 20+ thousands of msgs/s")
    parser.add_argument("--speed", type=market_speed, default=1.0,
                        help="virtual seconds per wall second (default: 1)")
    parser.add_argument("--fault", action="append", default=[], metavar="KIND[:k=v,...]",
                        help="inject a fault, e.g. gap:symbol=BTCUSDT,at=10 or disconnect:mode=abrupt,every=30")
    parser.add_argument("--ping-interval", type=positive_float, default=20.0, metavar="S",
                        help="server ping period, seconds (default: 20)")
    parser.add_argument("--pong-timeout", type=positive_float, default=60.0, metavar="S",
                        help="disconnect when no pong this long after a ping (default: 60)")
    parser.add_argument("--max-lifetime", type=positive_float, default=86400.0, metavar="S",
                        help="connection lifetime before serverShutdown, seconds (default: 86400)")


def build_config(args: argparse.Namespace):
    """ExchangeConfig from the arguments; bad values become one-line UserErrors."""
    from app.cli import UserError
    from feeds.exchange import ConnectionRules, ExchangeConfig, FaultError, UnknownSymbolError, parse_fault_text
    from feeds.exchange.catalog import Catalog

    try:
        Catalog(args.symbols)
    except UnknownSymbolError as exc:
        raise UserError(str(exc)) from None
    try:
        faults = tuple(parse_fault_text(text, set(args.symbols)) for text in args.fault)
    except FaultError as exc:
        raise UserError(str(exc)) from None
    config = ExchangeConfig(
        symbols=tuple(args.symbols), seed=args.seed, host=args.host, port=args.port, rate=args.rate,
        speed=args.speed, faults=faults,
        rules=ConnectionRules(ping_interval_s=args.ping_interval, pong_timeout_s=args.pong_timeout,
                              max_lifetime_s=args.max_lifetime),
    )
    try:
        config.validate()
    except ValueError as exc:
        raise UserError(str(exc)) from None
    return config


def run(args: argparse.Namespace) -> int:
    import asyncio
    import signal

    from app.cli import UserError
    from feeds.exchange import ExchangeStartError, describe, start_exchange

    config = build_config(args)

    async def serve() -> None:
        try:
            exchange = await start_exchange(config)
        except ExchangeStartError as exc:
            raise UserError(str(exc)) from None
        print(describe(exchange), flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass  # not POSIX: Ctrl-C still ends asyncio.run with KeyboardInterrupt, exit 130
        try:
            await stop.wait()
        finally:
            await exchange.stop()

    asyncio.run(serve())
    return 0
