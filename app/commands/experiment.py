"""`python -m app experiment avellaneda-stoikov --gamma G --paths N --seed S [--json | --markdown]`.

Runs the simulation of Avellaneda & Stoikov (2008), section 3.3, for the inventory strategy and the
symmetric benchmark. --json prints one JSON document (with the published table for gammas 0.1,
0.01 and 1); --markdown prints the reproduced-vs-published table for all three published gammas.
"""
from __future__ import annotations

import argparse
import json

from app.options import number, whole_number

EXPERIMENTS = ("avellaneda-stoikov",)
PUBLISHED_GAMMAS = (0.1, 0.01, 1.0)


_positive_int = whole_number(1)
_seed = whole_number(0, what="seed")
_gamma = number(0, what="gamma", exclusive_minimum=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", choices=EXPERIMENTS, help="which experiment to run")
    parser.add_argument("--gamma", type=_gamma, default=0.1, help="risk aversion (default 0.1)")
    parser.add_argument("--paths", type=_positive_int, default=1000,
                        help="simulated days (default 1000, as in the paper)")
    parser.add_argument("--seed", type=_seed, default=1, help="random seed (default 1)")
    parser.add_argument("--benchmark-spread", choices=("stationary", "average"), default="stationary",
                        help="symmetric benchmark's spread: the stationary A-S spread (2/gamma)ln(1+gamma/k) "
                             "as in the paper's tables (default), or the time average of the A-S spread")
    output = parser.add_mutually_exclusive_group()
    output.add_argument("--json", action="store_true", help="print the results as JSON")
    output.add_argument("--markdown", action="store_true",
                        help="print reproduced vs published tables for gamma 0.1, 0.01 and 1 (ignores --gamma)")


def run(args: argparse.Namespace) -> int:
    from app.cli import UserError
    from strategies.parameters import ParameterError
    from strategies.experiments import avellaneda_stoikov as experiment

    if args.paths > 1_000_000:
        raise UserError(f"--paths {args.paths} is too many (at most 1000000)")
    try:
        if args.markdown:
            results = [experiment.run(g, args.paths, args.seed, args.benchmark_spread) for g in PUBLISHED_GAMMAS]
            print(experiment.markdown_table(results, seed=args.seed))
            return 0
        result = experiment.run(args.gamma, args.paths, args.seed, args.benchmark_spread)
    except ParameterError as exc:
        raise UserError(str(exc)) from None
    if args.json:
        document = result.as_dict()
        document["seed"] = args.seed
        print(json.dumps(document, indent=2))
        return 0
    print(_text(result, args.seed))
    return 0


def _text(result, seed: int) -> str:
    setup = result.setup
    lines = [
        f"Avellaneda-Stoikov simulation: gamma={setup.gamma:g}, {setup.paths} paths, seed {seed}",
        f"{'strategy':<10} {'spread':>7} {'profit':>8} {'std':>7} {'final q':>8} {'std q':>6}",
    ]
    for name in ("inventory", "symmetric"):
        o = getattr(result, name)
        lines.append(
            f"{name:<10} {o.spread:7.2f} {o.profit_mean:8.2f} {o.profit_std:7.2f} "
            f"{o.final_q_mean:8.3f} {o.final_q_std:6.2f}"
        )
    return "\n".join(lines)
