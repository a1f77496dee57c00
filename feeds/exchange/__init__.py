"""The embedded Binance-compatible exchange: REST + WebSocket on one port, a stochastic market.

Inside an asyncio loop you own (the app's single loop)::

    exchange = await start_exchange(ExchangeConfig(symbols=("BTCUSDT", "ETHUSDT"), seed=7, port=0))
    AsyncClient.API_URL = exchange.base_api_url          # "http://127.0.0.1:P/api"
    BinanceSocketManager.STREAM_URL = exchange.stream_url  # "ws://127.0.0.1:P/"
    exchange.faults.request({"kind": "gap", "symbol": "BTCUSDT"})
    exchange.book_snapshot("BTCUSDT"); exchange.book_at("BTCUSDT", update_id)
    await exchange.stop()

From plain threads (tests, benchmarks, the CLI): ``with ExchangeThread(config) as ex: ...``.
Modules: catalog (symbols, filters, reference prices), l3book (orders and matching), drivers
(correlated fair values), market (order flow in virtual time), ticker (24 h statistics), journal
(book at an update id), wire (Binance payloads), streams (stream names), hub (fan-out), control
(SUBSCRIBE & co), connection (per-connection rules), rest, admin, faults, clock, server, runner.
"""
from feeds.exchange.catalog import UnknownSymbolError
from feeds.exchange.config import ConnectionRules, ExchangeConfig
from feeds.exchange.faults import FaultError, FaultSpec, parse_fault_text
from feeds.exchange.market import BookSnapshot, FlowParams, MarketModel
from feeds.exchange.runner import ExchangeThread
from feeds.exchange.server import ExchangeStartError, RunningExchange, describe, start_exchange

__all__ = [
    "BookSnapshot", "ConnectionRules", "ExchangeConfig", "ExchangeStartError", "ExchangeThread",
    "FaultError", "FaultSpec", "FlowParams", "MarketModel", "RunningExchange", "UnknownSymbolError",
    "describe", "parse_fault_text", "start_exchange",
]
