"""RSS soak: does a monitor's memory level off, idle and with Socket.IO clients?

    .venv/bin/python -m tests.benchmarks.bench_rss --minutes 30 [--clients 50] [--every 10]

Starts two ``python -m app serve --source sim`` processes on free ports at the same time: one
nobody connects to (idle) and one with ``--clients`` python-socketio clients in a separate
process, each receiving every snapshot. Every ``--every`` seconds it reads both monitors'
VmRSS from /proc (after every book is synced: that is the start). At the end it prints, per
monitor, RSS at the start, at 5 and 10 minutes and at the end, and the least-squares slope over
the second half of the run (MB/min): memory that levels off has a slope near zero there, while
the first minutes fill the bounded stores (caches, journals, histories).
"""
from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing as mp
import signal
import time
from pathlib import Path

from tests.monitor_process import MonitorProcess

CONNECT_TIMEOUT_S = 30.0
READY_TIMEOUT_S = 90.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024.0
    raise RuntimeError(f"no VmRSS for process {pid}")


def slope_mb_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares slope of (seconds, MB) samples, in MB per minute."""
    n = len(samples)
    if n < 2:
        return float("nan")
    mean_t = sum(t for t, _ in samples) / n
    mean_m = sum(m for _, m in samples) / n
    var = sum((t - mean_t) ** 2 for t, _ in samples)
    cov = sum((t - mean_t) * (m - mean_m) for t, m in samples)
    return 60.0 * cov / var if var else float("nan")


def at(samples: list[tuple[float, float]], seconds: float) -> float | None:
    """RSS of the first sample at or after ``seconds`` into the run (None if the run was shorter)."""
    return next((m for t, m in samples if t >= seconds), None)


# -- the clients' process ------------------------------------------------------------------------
def clients_process(url: str, count: int, connected: "mp.Queue", received: "mp.Value",
                    connects: "mp.Value") -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent ends it with SIGTERM
    # A dropped client reconnects and is counted in ``connects``; python-engineio's own line
    # for each would bury the samples.
    logging.getLogger("engineio.client").setLevel(logging.CRITICAL)
    asyncio.run(_clients(url, count, connected, received, connects))


async def _clients(url: str, count: int, connected: "mp.Queue", received: "mp.Value",
                   connects: "mp.Value") -> None:
    import socketio

    clients = []
    for _ in range(count):
        client = socketio.AsyncClient(reconnection=True)

        @client.on("snapshot")
        async def on_snapshot(data):  # decoded like any client would, then counted
            with received.get_lock():
                received.value += 1

        @client.event
        async def connect():
            with connects.get_lock():
                connects.value += 1

        await client.connect(url, transports=["websocket"], wait_timeout=CONNECT_TIMEOUT_S)
        clients.append(client)
    connected.put(len(clients))
    await asyncio.Event().wait()  # until terminated


# -- the run -------------------------------------------------------------------------------------
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30.0, help="how long to measure (default: 30)")
    parser.add_argument("--clients", type=int, default=50, help="Socket.IO clients of the second monitor")
    parser.add_argument("--every", type=float, default=10.0, help="seconds between RSS samples (default: 10)")
    parser.add_argument("--symbols", default="BTCUSDT,ETHUSDT,BNBUSDT,SOLUSDT")
    args = parser.parse_args()

    serve = ["serve", "--source", "sim", "--port", "0", "--symbols", args.symbols]
    names = ["idle", f"{args.clients} clients"]
    with MonitorProcess(serve, timeout_s=READY_TIMEOUT_S) as idle, \
            MonitorProcess(serve, timeout_s=READY_TIMEOUT_S) as loaded:
        monitors = [idle, loaded]
        for monitor in monitors:
            wait_ready(monitor)
        received = mp.Value("q", 0)
        connects = mp.Value("q", 0)
        connected: mp.Queue = mp.Queue()
        clients = mp.Process(target=clients_process,
                             args=(loaded.url, args.clients, connected, received, connects), daemon=True)
        clients.start()
        try:
            print(f"clients connected: {connected.get(timeout=CONNECT_TIMEOUT_S * 2)}", flush=True)
            samples = sample(monitors, names, args.minutes * 60.0, args.every, received)
        finally:
            clients.terminate()
            clients.join(10)
    report(names, samples, args.minutes * 60.0, received.value, connects.value, args.clients)


def wait_ready(monitor: MonitorProcess) -> None:
    import urllib.request

    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(monitor.url + "/ready", timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)  # another process: nothing to wait on but its answer
    raise SystemExit(f"{monitor.url} not ready within {READY_TIMEOUT_S:.0f} s")


def sample(monitors: list[MonitorProcess], names: list[str], duration_s: float, every_s: float,
           received: "mp.Value") -> list[list[tuple[float, float]]]:
    samples: list[list[tuple[float, float]]] = [[] for _ in monitors]
    started = time.monotonic()
    while True:
        elapsed = time.monotonic() - started
        for series, monitor in zip(samples, monitors):
            series.append((elapsed, rss_mb(monitor.proc.pid)))
        print(f"t={elapsed:6.0f} s  " + "  ".join(f"{name}: {series[-1][1]:6.1f} MB"
                                                   for name, series in zip(names, samples))
              + f"  snapshots received: {received.value}", flush=True)
        if elapsed >= duration_s:
            return samples
        time.sleep(max(0.0, min(every_s, duration_s - elapsed)))


def report(names: list[str], samples: list[list[tuple[float, float]]], duration_s: float,
           received: int, connects: int, clients: int) -> None:
    print(f"\nRSS (MB) over {duration_s / 60:g} min; slope = least squares over the second half")
    print(f"  {'monitor':<12} {'start':>7} {'5 min':>7} {'10 min':>7} {'end':>7} {'slope MB/min':>13}")
    for name, series in zip(names, samples):
        half = [s for s in series if s[0] >= duration_s / 2]
        cells = [series[0][1], at(series, 300), at(series, 600), series[-1][1]]
        shown = " ".join(f"{c:7.1f}" if c is not None else f"{'-':>7}" for c in cells)
        print(f"  {name:<12} {shown} {slope_mb_per_min(half):13.3f}")
    if clients:
        print(f"  snapshots received by the clients: {received} ({received / clients / duration_s:.2f}/s each); "
              f"connections made: {connects} ({connects - clients} reconnects)")


if __name__ == "__main__":
    main()
