"""The pushed snapshot's schema (CONTRACTS.md), as key sets the web tests check against."""
from __future__ import annotations

TOP = {"ts", "seq", "source", "streaming", "fees", "symbols", "markets", "strategies", "portfolio", "activity", "health"}
MARKET = {
    "symbol", "price_decimals", "qty_decimals", "last", "bid", "ask", "bid_qty", "ask_qty", "mid", "spread",
    "spread_ticks", "spread_bps", "microprice", "imbalance", "change_24h", "change_pct_24h", "volume_24h",
    "quote_volume_24h", "high_24h", "low_24h", "ts_event", "depth", "trades", "feed",
}
FEED = {"synced", "stale", "update_id", "last_event_age_ms", "latency_ms", "msgs", "gaps", "resyncs", "reconnects",
        "malformed"}
STRATEGY_BLOCK = {"risk", "position", "orders", "fills", "strategies"}
RISK = {"state", "reason", "limits"}
POSITION = {"qty", "avg_price", "realized", "unrealized", "fees", "equity", "drawdown", "max_drawdown", "sharpe",
            "sharpe_se", "sharpe_seconds", "fills", "maker_fills", "taker_fills", "fill_ratio", "turnover"}
PORTFOLIO = {"valuation", "valuation_note", "rates", "realized", "unrealized", "fees", "equity", "drawdown",
             "max_drawdown", "sharpe", "sharpe_se", "sharpe_seconds", "sharpe_note", "fills", "sharpe_definition"}
HEALTH = {"status", "reasons", "clients", "uptime_s"}
ACTIVITY = {"ts", "symbol", "kind", "message"}
TRADE = {"id", "ts", "price", "qty", "side"}
ORDER = {"id", "strategy", "side", "price", "qty", "filled", "status", "tag", "queue_ahead"}
FILL = {"ts", "strategy", "side", "price", "qty", "liquidity", "reason", "fee"}
HEALTH_ENDPOINT = {"status", "reasons", "source", "streaming", "uptime_s", "clients", "symbols", "engine"}
HEALTH_ENGINE = {"last_beat_ms", "queue_depth", "queue_dropped", "loop_restarts", "faults"}
HEALTH_SYMBOL = {"synced", "update_id", "last_event_age_ms", "msgs", "gaps", "resyncs", "reconnects"}


def missing(required: set[str], obj: dict, where: str) -> list[str]:
    return [f"{where}.{key}" for key in sorted(required - set(obj))]


def schema_problems(snap: dict, symbols: list[str] | None = None) -> list[str]:
    """Every missing key of the snapshot schema, as 'path.key' strings (empty list = conforming)."""
    problems = missing(TOP, snap, "snapshot")
    if problems:
        return problems
    symbols = list(snap["symbols"]) if symbols is None else symbols
    if sorted(snap["markets"]) != sorted(symbols):
        problems.append(f"markets for {sorted(snap['markets'])}, expected {sorted(symbols)}")
    for name, market in snap["markets"].items():
        problems += missing(MARKET, market, f"markets.{name}")
        problems += missing({"bids", "asks"}, market.get("depth", {}), f"markets.{name}.depth")
        problems += missing(FEED, market.get("feed", {}), f"markets.{name}.feed")
        for trade in market.get("trades", []):
            problems += missing(TRADE, trade, f"markets.{name}.trades[]")
    for name, block in snap["strategies"].items():
        problems += missing(STRATEGY_BLOCK, block, f"strategies.{name}")
        problems += missing(RISK, block.get("risk", {}), f"strategies.{name}.risk")
        problems += missing(POSITION, block.get("position", {}), f"strategies.{name}.position")
        for order in block.get("orders", []):
            problems += missing(ORDER, order, f"strategies.{name}.orders[]")
        for fill in block.get("fills", []):
            problems += missing(FILL, fill, f"strategies.{name}.fills[]")
        for strategy in block.get("strategies", []):
            problems += missing({"name", "enabled", "params", "state", "error"}, strategy, f"strategies.{name}.strategies[]")
    problems += missing(PORTFOLIO, snap["portfolio"], "portfolio")
    problems += missing(HEALTH, snap["health"], "health")
    for entry in snap["activity"]:
        problems += missing(ACTIVITY, entry, "activity[]")
    return sorted(set(problems))


def health_problems(health: dict, symbols: list[str]) -> list[str]:
    problems = missing(HEALTH_ENDPOINT, health, "health")
    problems += missing(HEALTH_ENGINE, health.get("engine", {}), "health.engine")
    for symbol in symbols:
        entry = health.get("symbols", {}).get(symbol)
        if entry is None:
            problems.append(f"health.symbols.{symbol}")
        else:
            problems += missing(HEALTH_SYMBOL, entry, f"health.symbols.{symbol}")
    return problems
