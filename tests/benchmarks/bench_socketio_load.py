"""Socket.IO fan-out load: N real clients on one monitor process, delivered rate and push delay.

    .venv/bin/python -m tests.benchmarks.bench_socketio_load --clients 1000 --duration 60

Starts ``python -m app serve --source sim`` on a free port (or uses ``--url`` of a running
monitor), waits for /ready, then connects N Socket.IO clients over WebSocket, spread over a few
worker processes. Two client implementations:

* ``--client wire`` (default): a minimal Socket.IO v5 / Engine.IO v4 client on aiohttp
  WebSockets (handshake, namespace connect, ping/pong, events). It reads ``ts`` from the front of
  each frame instead of decoding 11 KB of JSON, so on a small machine the clients leave the CPU
  to the server being measured.
* ``--client socketio``: python-socketio's AsyncClient, decoding every snapshot (~5-10x the
  client CPU per message; on 2 cores it measures the clients as much as the server).
 During the measured window every client records, for each
``snapshot``, the delay from the snapshot's ``ts`` (server push time, ms) to its receipt; a
sample of clients also records exchange event time (``markets[*].ts_event`` of the book events
new since the previous push) to receipt. Clients and server share the machine, so client CPU
is part of the delay: the numbers are an upper bound of what remote browsers see.

Reports: delivered messages/s against the 5 Hz target, per-client rates, starved clients
(< 50 % of the expected pushes), delay p50/p90/p99/max, event-to-receipt p50/p99, and the
server's own cost (process CPU, push time per tick from its /metrics).
"""
from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import os
import queue
import re
import signal
import subprocess
import sys
import time
import urllib.request
from array import array
from pathlib import Path

PUSH_HZ = 5.0
STARVED_FRACTION = 0.5
EVENT_SAMPLE_CLIENTS = 10        # per worker: clients that also measure exchange event -> receipt
CONNECT_CONCURRENCY = 25         # simultaneous connection attempts per worker


# ------------------------------------------------------------------------------ helpers
def http_get(url: str, timeout: float = 5.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def wait_ready(base: str, deadline_s: float, proc: subprocess.Popen | None) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise SystemExit(f"server exited early with status {proc.returncode}")
        status, _ = http_get(base + "/ready", timeout=2)
        if status == 200:
            return
        time.sleep(0.25)
    raise SystemExit(f"server at {base} not ready within {deadline_s:.0f} s")


def quantile(values, q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def proc_cpu_seconds(pid: int) -> float:
    """utime + stime of a process (and its threads) from /proc, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def scrape(base: str) -> dict[str, float]:
    status, body = http_get(base + "/metrics")
    values: dict[str, float] = {}
    if status != 200:
        return values
    for line in body.decode().splitlines():
        match = re.match(r"^(monitor_(?:push|publish)_[a-z_]+?)(\{[^}]*\})?\s+([0-9.eE+-]+)$", line)
        if match:
            values[match.group(1) + (match.group(2) or "")] = float(match.group(3))
    return values


def histogram_delta(before: dict, after: dict, name: str) -> tuple[float, float, float]:
    """(count, mean s, p99 s upper bucket bound) of a histogram between two scrapes."""
    count = after.get(f"{name}_count", 0) - before.get(f"{name}_count", 0)
    total = after.get(f"{name}_sum", 0) - before.get(f"{name}_sum", 0)
    buckets = []
    for key, value in after.items():
        match = re.match(rf'^{name}_bucket\{{le="([^"]+)"\}}$', key)
        if match:
            bound = float("inf") if match.group(1) == "+Inf" else float(match.group(1))
            buckets.append((bound, value - before.get(key, 0)))
    buckets.sort()
    p99 = float("nan")
    for bound, cumulative in buckets:
        if count and cumulative >= 0.99 * count:
            p99 = bound
            break
    return count, (total / count if count else float("nan")), p99


# ------------------------------------------------------------------------------ worker
def worker(index: int, url: str, clients: int, connected_q, go_q, result_q, window_s: float,
           connect_timeout_s: float, kind: str) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        result = asyncio.run(_worker(index, url, clients, connected_q, go_q, window_s, connect_timeout_s, kind))
    except Exception as exc:  # report, never hang the parent
        result = {"error": f"worker {index}: {type(exc).__name__}: {exc}"}
    result_q.put(result)


class Recorder:
    """Per-worker receipt statistics, only inside the measured window."""

    def __init__(self, clients: int) -> None:
        self.start = None
        self.end = None
        self.counts = [0] * clients
        self.delays = array("f")
        self.event_delays = array("f")

    def on_snapshot(self, i: int, ts: float, markets: dict | None, last_event: dict | None) -> None:
        now_ms = time.time() * 1000.0
        if self.start is None or now_ms < self.start or now_ms > self.end:
            return
        self.counts[i] += 1
        self.delays.append(now_ms - ts)
        if markets is not None and last_event is not None:
            for name, market in markets.items():
                ts_event = market.get("ts_event")
                if ts_event and ts_event != last_event.get(name):
                    last_event[name] = ts_event
                    self.event_delays.append(now_ms - ts_event)


class WireClient:
    """A minimal Socket.IO client: Engine.IO v4 over one WebSocket, default namespace, events in."""

    _PREFIX = '42["snapshot",{"ts":'

    def __init__(self, i: int, base: str, session, recorder: Recorder, sample: bool) -> None:
        self.i = i
        self.url = base.replace("http://", "ws://").replace("https://", "wss://") + \
            "/socket.io/?EIO=4&transport=websocket"
        self.session = session
        self.recorder = recorder
        self.last_event: dict | None = {} if sample else None
        self.ws = None
        self.connected = False
        self.task = None

    async def connect(self, timeout: float) -> None:
        import orjson

        # compress=15 offers permessage-deflate like a browser does; the server decides.
        self.ws = await self.session.ws_connect(self.url, timeout=timeout, autoping=True, max_msg_size=0,
                                                compress=15)
        opening = await self.ws.receive_str(timeout=timeout)
        if not opening.startswith("0"):
            raise ConnectionError(f"no Engine.IO open packet: {opening[:40]!r}")
        orjson.loads(opening[1:])
        await self.ws.send_str("40")
        while True:
            reply = await self.ws.receive_str(timeout=timeout)
            if reply.startswith("40"):
                break
            if reply.startswith("44"):
                raise ConnectionError(f"namespace refused: {reply[2:80]}")
            self._on_text(reply)
        self.connected = True
        self.task = asyncio.get_running_loop().create_task(self._read())

    def _on_text(self, text: str) -> None:
        import orjson

        if text == "2":
            asyncio.get_running_loop().create_task(self.ws.send_str("3"))
            return
        if not text.startswith('42["snapshot"'):
            return
        if self.last_event is None and text.startswith(self._PREFIX):
            end = text.find(",", len(self._PREFIX))
            self.recorder.on_snapshot(self.i, float(text[len(self._PREFIX):end]), None, None)
        else:
            snap = orjson.loads(text[2:])[1]
            self.recorder.on_snapshot(self.i, snap["ts"], snap["markets"], self.last_event)

    async def _read(self) -> None:
        import aiohttp

        try:
            async for message in self.ws:
                if message.type == aiohttp.WSMsgType.TEXT:
                    self._on_text(message.data)
                elif message.type in (aiohttp.WSMsgType.CLOSED, aiohttp.WSMsgType.ERROR):
                    break
        finally:
            self.connected = False

    async def disconnect(self) -> None:
        if self.ws is not None and not self.ws.closed:
            try:
                await self.ws.send_str("41")
            finally:
                await self.ws.close()


class SocketIOClient:
    """python-socketio's AsyncClient, decoding every snapshot."""

    def __init__(self, i: int, base: str, session, recorder: Recorder, sample: bool) -> None:
        import orjson
        import socketio

        class FastJson:
            @staticmethod
            def dumps(obj, **_):
                return orjson.dumps(obj).decode()

            @staticmethod
            def loads(text, **_):
                return orjson.loads(text)

        self.base = base
        self.sio = socketio.AsyncClient(reconnection=False, json=FastJson, http_session=session)
        last_event = {} if sample else None
        self.sio.on("snapshot", lambda snap: recorder.on_snapshot(
            i, snap["ts"], snap["markets"] if last_event is not None else None, last_event))

    @property
    def connected(self) -> bool:
        return self.sio.connected

    async def connect(self, timeout: float) -> None:
        await self.sio.connect(self.base, transports=["websocket"], wait_timeout=timeout)

    async def disconnect(self) -> None:
        await self.sio.disconnect()


async def _worker(index, url, clients, connected_q, go_q, window_s, connect_timeout_s, kind):
    import aiohttp

    recorder = Recorder(clients)
    errors: list[str] = []
    # limit=0: every WebSocket holds a connector slot for its whole life (default cap: 100).
    session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0))
    client_class = WireClient if kind == "wire" else SocketIOClient
    sockets = []
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)

    async def connect(i: int):
        client = client_class(i, url, session, recorder, sample=i < EVENT_SAMPLE_CLIENTS)
        async with gate:
            try:
                await client.connect(connect_timeout_s)
                sockets.append(client)
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

    await asyncio.gather(*(connect(i) for i in range(clients)))
    connected_q.put(len(sockets))
    loop = asyncio.get_running_loop()
    start_ms = await loop.run_in_executor(None, go_q.get)
    recorder.start = start_ms
    recorder.end = start_ms + window_s * 1000.0
    await asyncio.sleep(max(0.0, (recorder.end - time.time() * 1000.0) / 1000.0) + 0.5)
    disconnected = sum(1 for s in sockets if not s.connected)
    await asyncio.gather(*(s.disconnect() for s in sockets), return_exceptions=True)
    await session.close()
    return {
        "connected": len(sockets),
        "disconnected_during": disconnected,
        "counts": recorder.counts,
        "delays": recorder.delays.tobytes(),
        "event_delays": recorder.event_delays.tobytes(),
        "errors": errors[:5],
        "error_count": len(errors),
    }


# ------------------------------------------------------------------------------ main
def run(args: argparse.Namespace) -> int:
    if args.url:
        base = args.url.rstrip("/")
        wait_ready(base, args.ready_timeout, None)
        return measure(args, base, None)
    from tests.monitor_process import MonitorProcess

    command = ["serve", "--source", "sim", "--port", "0", "--symbols", args.symbols]
    with MonitorProcess(command, timeout_s=args.ready_timeout) as server:
        wait_ready(server.url, args.ready_timeout, server.proc)
        return measure(args, server.url, server.proc)


def measure(args: argparse.Namespace, base: str, proc: subprocess.Popen | None) -> int:
    ctx = mp.get_context("spawn")
    workers = max(1, min(args.workers, args.clients))
    shares = [args.clients // workers + (1 if i < args.clients % workers else 0) for i in range(workers)]
    connected_q, result_q = ctx.Queue(), ctx.Queue()
    go_queues = [ctx.Queue() for _ in range(workers)]
    processes = [
        ctx.Process(target=worker, args=(i, base, shares[i], connected_q, go_queues[i], result_q,
                                         args.duration, args.connect_timeout, args.client), daemon=True)
        for i in range(workers)
    ]
    t_connect = time.monotonic()
    for p in processes:
        p.start()
    try:
        connected = sum(connected_q.get(timeout=args.connect_timeout * 4 + 120) for _ in processes)
    except queue.Empty:
        print("error: client processes did not finish connecting in time", file=sys.stderr)
        return 1
    connect_s = time.monotonic() - t_connect
    time.sleep(2.0)  # let the connection burst settle before measuring
    server_pid = proc.pid if proc else args.server_pid
    start_ms = time.time() * 1000.0 + 500.0
    for q in go_queues:
        q.put(start_ms)
    time.sleep(max(0.0, (start_ms - time.time() * 1000.0) / 1000.0))
    cpu_before = proc_cpu_seconds(server_pid) if server_pid else None
    before = scrape(base)
    time.sleep(args.duration)
    cpu_after = proc_cpu_seconds(server_pid) if server_pid else None
    after = scrape(base)
    try:
        results = [result_q.get(timeout=180) for _ in processes]
    except queue.Empty:
        print("error: client processes did not report their results", file=sys.stderr)
        return 1
    for p in processes:
        p.join(timeout=10)

    failures = [r["error"] for r in results if "error" in r]
    if failures:
        print("\n".join(failures), file=sys.stderr)
        return 1
    counts = [c for r in results for c in r["counts"]]
    delays = array("f")
    event_delays = array("f")
    for r in results:
        delays.frombytes(r["delays"])
        event_delays.frombytes(r["event_delays"])
    expected_per_client = args.duration * PUSH_HZ
    delivered = sum(counts)
    starved = sum(1 for c in counts if c < STARVED_FRACTION * expected_per_client)
    dropped = sum(r["disconnected_during"] for r in results)
    errors = sum(r["error_count"] for r in results)
    push_n, push_mean, push_p99 = histogram_delta(before, after, "monitor_push_seconds")
    pub_n, pub_mean, _ = histogram_delta(before, after, "monitor_publish_seconds")
    enc_n, enc_mean, _ = histogram_delta(before, after, "monitor_push_encode_seconds")
    cpu = (cpu_after - cpu_before) / args.duration * 100 if server_pid else float("nan")
    msg_bytes = (after.get("monitor_push_bytes_total", 0) - before.get("monitor_push_bytes_total", 0))
    msgs = (after.get("monitor_push_messages_total", 0) - before.get("monitor_push_messages_total", 0))

    rows = [
        ("clients requested / connected", f"{args.clients} / {connected} (in {connect_s:.1f} s, {errors} failed)"),
        ("window", f"{args.duration:.0f} s, {workers} client processes, {args.client} clients"),
        ("delivered", f"{delivered / args.duration:,.0f} msg/s (target {args.clients * PUSH_HZ:,.0f})"),
        ("per-client rate p50 / min", f"{quantile(counts, 0.5) / args.duration:.2f} / "
                                      f"{(min(counts) if counts else 0) / args.duration:.2f} Hz"),
        ("starved clients (< 50 %)", f"{starved}"),
        ("dropped during window", f"{dropped}"),
        ("delay ts->receipt p50 / p90 / p99 / max",
         f"{quantile(delays, .5):.1f} / {quantile(delays, .9):.1f} / {quantile(delays, .99):.1f} / "
         f"{(max(delays) if delays else float('nan')):.1f} ms"),
        ("exchange event->receipt p50 / p99",
         f"{quantile(event_delays, .5):.1f} / {quantile(event_delays, .99):.1f} ms "
         f"({len(event_delays)} samples)"),
        ("server push per tick mean / p99",
         f"{push_mean * 1000:.2f} / <= {push_p99 * 1000:.1f} ms ({push_n:.0f} ticks)"),
        ("  of which publish / encode (mean)", f"{pub_mean * 1000:.2f} / {enc_mean * 1e6:.0f} µs"),
        ("snapshot size", f"{(msg_bytes / msgs if msgs else float('nan')) / 1024:.1f} KiB"),
        ("server process CPU", f"{cpu:.0f} % of one core"),
    ]
    width = max(len(k) for k, _ in rows)
    print(f"Socket.IO load: {args.clients} clients, {base}")
    for key, value in rows:
        print(f"  {key:<{width}}  {value}")
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=60.0, help="measured window (s)")
    parser.add_argument("--workers", type=int, default=3, help="client processes")
    parser.add_argument("--client", choices=("wire", "socketio"), default="wire",
                        help="client implementation (see the module docstring)")
    parser.add_argument("--server-pid", type=int, default=0,
                        help="with --url: the server's pid, to report its CPU use")
    parser.add_argument("--symbols", default="BTCUSDT,ETHUSDT,BNBUSDT,SOLUSDT")
    parser.add_argument("--url", default="", help="use a running monitor instead of starting one")
    parser.add_argument("--ready-timeout", type=float, default=90.0)
    parser.add_argument("--connect-timeout", type=float, default=30.0)
    args = parser.parse_args(argv)
    if args.clients < 1 or args.duration <= 0:
        parser.error("--clients must be >= 1 and --duration > 0")
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
