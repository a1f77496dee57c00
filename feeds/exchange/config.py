"""Configuration of the embedded exchange (frozen; times in seconds unless named otherwise)."""
from __future__ import annotations

from dataclasses import dataclass, field

from feeds.exchange.faults import FaultSpec
from feeds.exchange.market import FlowParams


@dataclass(frozen=True)
class ConnectionRules:
    """Binance's WebSocket connection rules; tests shorten the times."""

    ping_interval_s: float = 20.0  # the server pings this often
    pong_timeout_s: float = 60.0  # no pong this long after a ping: disconnect
    max_lifetime_s: float = 24 * 3600.0  # then serverShutdown, then close
    shutdown_grace_s: float = 1.0  # data keeps flowing this long after serverShutdown
    max_streams: int = 1024  # per connection
    max_incoming_per_s: int = 5  # more incoming messages (pings, pongs, JSON) per second: disconnect
    max_queued_batches: int = 2000  # a client this far behind is cut off (~20 s at the default pump)
    # Connections open at once; more are refused at the handshake (HTTP 429). Each holds its
    # subscriptions and an outbound queue; a monitor needs one per 1024 streams.
    max_connections: int = 256

    def validate(self) -> None:
        if min(self.ping_interval_s, self.pong_timeout_s, self.max_lifetime_s) <= 0:
            raise ValueError("connection times must be positive")
        if min(self.max_streams, self.max_incoming_per_s, self.max_queued_batches, self.max_connections) < 1:
            raise ValueError("connection limits must be at least 1")


@dataclass(frozen=True)
class ExchangeConfig:
    """One exchange: which symbols, which market (seed, rate), where it listens, how it behaves.

    rate: order-flow activity (1 = a calm real market, 0.1 quiet, 20+ thousands of msgs/s);
    speed: virtual seconds per wall second; epoch_ms: virtual start time (None = now), fix it
    for event streams identical across runs; port 0 picks a free port.
    """

    symbols: tuple[str, ...] = ("BTCUSDT", "ETHUSDT", "BNBUSDT", "SOLUSDT")
    seed: int = 1
    host: str = "127.0.0.1"
    port: int = 0
    rate: float = 1.0
    speed: float = 1.0
    epoch_ms: int | None = None
    pump_interval_ms: float = 10.0  # how often the model is advanced and frames are released
    weight_limit_1m: int = 6000  # REST request weight per minute (0 = unlimited)
    rules: ConnectionRules = field(default_factory=ConnectionRules)
    flow: FlowParams = field(default_factory=FlowParams)
    faults: tuple[FaultSpec, ...] = ()  # applied at startup (their `at` counts from then)
    admin: bool = True  # serve /admin/*

    def validate(self) -> None:
        if not self.symbols:
            raise ValueError("no symbols")
        if len(set(self.symbols)) != len(self.symbols):
            raise ValueError("a symbol is listed twice")
        if not 0 <= self.port <= 65535:
            raise ValueError(f"port out of range 0..65535: {self.port}")
        if self.rate <= 0 or self.speed <= 0:
            raise ValueError("rate and speed must be positive")
        if self.pump_interval_ms <= 0:
            raise ValueError("pump_interval_ms must be positive")
        self.rules.validate()
        self.flow.validate()
