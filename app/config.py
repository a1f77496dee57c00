"""The monitor's frozen configuration, built once from the command line and environment."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from strategies.fees import FeeSchedule

SOURCES = ("auto", "binance", "sim", "replay")
BINANCE_API_URL = "https://api.binance.com/api"
BINANCE_STREAM_URL = "wss://stream.binance.com:9443/"


@dataclass(frozen=True)
class MonitorConfig:
    """Everything ``serve`` needs. Times: push_interval_s in s, timer_interval_ms in ms."""

    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT")
    source: str = "auto"
    host: str = "127.0.0.1"
    allowed_hosts: tuple[str, ...] = ()   # Host names served besides loopback and host ("*" = any)
    allowed_origins: tuple[str, ...] = ()  # pages that may send commands besides the monitor's own ("*" = any)
    token: str | None = field(default=None, repr=False)  # control token (app.exposure); never shown
    port: int = 8080
    seed: int = 7
    depth_levels: int = 20
    push_interval_s: float = 0.2
    timer_interval_ms: int = 100
    strategies: tuple[str, ...] = ("market_maker", "avellaneda_stoikov", "liquidity_taker")
    strategies_enabled: tuple[str, ...] = ("market_maker",)
    fees: FeeSchedule = field(default_factory=FeeSchedule)  # Binance's regular spot tier: 10 bps each side
    # Live defaults that differ from the strategies' own: a spread that clears the regular tier's fees
    # (a round trip pays 2 x 10 bps; 30 bps leaves 10 for adverse moves) and a refresh on a move of
    # 1 bps (a 1-tick tolerance requotes BTC on every 0.01 of a 100,000 mid).
    strategy_params: dict = field(default_factory=lambda: {
        "market_maker": {"spread_bps": 30.0, "refresh_tolerance_bps": 1.0},
        "avellaneda_stoikov": {"refresh_tolerance_bps": 1.0},
    }, compare=False)
    replay_files: tuple[str, ...] = ()
    replay_speed: float = 1.0
    exchange_rate: float = 1.0
    binance_probe_timeout_s: float = 3.0
    state_dir: Path | None = None  # the account and settings (app.state_dir); None: in memory only
    record_dir: Path | None = None
    max_clients: int = 5000
    extra: dict = field(default_factory=dict, compare=False)
