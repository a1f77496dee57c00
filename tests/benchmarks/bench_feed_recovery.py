"""Fault recovery of the live feed against the embedded exchange: how fast each injected fault is
detected and each affected book is exact again (equal to the exchange's own book at the same
update id). The same scenarios as tests/feeds/test_faults.py, repeated.

    .venv/bin/python -m tests.benchmarks.bench_feed_recovery [--rounds 5]

Times in ms from injection; "after fault" subtracts the fault's own duration (silence 3 s).
Feed settings as in the tests: silence watchdog 1.5 s, reconnect backoff 0.1..1 s (reset after
0.5 s up), snapshot retries 0.1..0.5 s; the 429 scenario waits out Retry-After: 1 s.
"""
from __future__ import annotations

import argparse
import statistics

from tests.feeds.fault_scenarios import SCENARIOS, Recovery, run_scenario
from tests.feeds.live_market import LiveMarket


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    live = LiveMarket.start(seed=5)
    results: dict[str, list[Recovery]] = {s.name: [] for s in SCENARIOS}
    try:
        live.until(live.all_synced, what="first sync")
        for _ in range(args.rounds):
            for scenario in SCENARIOS:
                results[scenario.name].append(run_scenario(live, scenario))
    finally:
        live.stop()
    print(f"feed fault recovery, {args.rounds} rounds each (ms; books verified exact every time)")
    print(f"{'fault':<26}{'detect p50':>11}{'detect max':>11}{'exact p50':>11}{'exact max':>11}"
          f"{'after fault max':>17}")
    for name, runs in results.items():
        detect = [r.detected_s * 1000 for r in runs]
        exact = [r.exact_s * 1000 for r in runs]
        after = [r.after_fault_s * 1000 for r in runs]
        print(f"{name:<26}{statistics.median(detect):>11.0f}{max(detect):>11.0f}"
              f"{statistics.median(exact):>11.0f}{max(exact):>11.0f}{max(after):>17.0f}")


if __name__ == "__main__":
    main()
