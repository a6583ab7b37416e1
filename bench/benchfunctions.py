"""Test functions shared by the side-by-side benchmark scripts in this folder
(`optuna_samplers.py`, `botorch_loop.py`): parameters and bounds, the noiseless value, the known
minimum and a per-function noise scale. Needs numpy only; not a script of its own.

Every function's first parameter is named x1 (the failure and pruning variants of
`optuna_samplers.py` key on its position in its range).
"""
import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Param:
    """One searched parameter: kind is "float", "int" (inclusive bounds) or "categorical"."""

    name: str
    kind: str
    low: float = 0.0
    high: float = 0.0
    choices: tuple = ()

    def position(self, value):
        """Where a numeric value lies in the range, 0 at low and 1 at high."""
        return (value - self.low) / (self.high - self.low)


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple
    value: object  # dict of parameter values -> float
    minimum: float
    scale: float  # the noise standard deviation of the noisy variant, and the pruning bump's unit


def floats(n, low, high):
    return tuple(Param(f"x{i}", "float", low, high) for i in range(1, n + 1))


def vector(p, n):
    return np.array([p[f"x{i}"] for i in range(1, n + 1)], dtype=float)


def branin(x1, x2):
    b, c, t = 5.1 / (4 * math.pi**2), 5 / math.pi, 1 / (8 * math.pi)
    return (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - t) * math.cos(x1) + 10


HARTMANN_A = np.array([[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14],
                       [3, 3.5, 1.7, 10, 17, 8], [17, 8, 0.05, 10, 0.1, 14]])
HARTMANN_P = np.array([[0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886],
                       [0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991],
                       [0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650],
                       [0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381]])
HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2]


def hartmann6(x):
    x = np.asarray(x)
    return -sum(a * math.exp(-np.sum(HARTMANN_A[i] * (x - HARTMANN_P[i]) ** 2))
                for i, a in enumerate(HARTMANN_ALPHA))


def rosenbrock(x):
    return float(sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2
                     for i in range(len(x) - 1)))


def ackley(x):
    return float(-20 * math.exp(-0.2 * math.sqrt((x * x).mean()))
                 - math.exp(np.cos(2 * math.pi * x).mean()) + 20 + math.e)


def styblinski_tang(x):
    return float(0.5 * np.sum(x**4 - 16 * x**2 + 5 * x))


def levy(x):
    w = 1 + (x - 1) / 4
    head = math.sin(math.pi * w[0]) ** 2
    body = np.sum((w[:-1] - 1) ** 2 * (1 + 10 * np.sin(math.pi * w[:-1] + 1) ** 2))
    tail = (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return float(head + body + tail)


MIXED_SHIFT = {"a": 0, "b": 2, "c": -3, "d": 5}
MIXED_OFFSET = {"a": 1, "b": 0, "c": 0.5, "d": 2}


def mixed_branin(p):
    c = p["c"]
    return branin(p["x1"] + MIXED_SHIFT[c], p["x2"]) + MIXED_OFFSET[c] + 0.1 * (p["n"] - 7) ** 2


FUNCTIONS = {f.name: f for f in [
    Function("branin", (Param("x1", "float", -5, 10), Param("x2", "float", 0, 15)),
             lambda p: branin(p["x1"], p["x2"]), 0.397887, 1.0),
    Function("hartmann6", floats(6, 0, 1), lambda p: hartmann6(vector(p, 6)), -3.32237, 0.1),
    Function("rosenbrock5", floats(5, -5, 10), lambda p: rosenbrock(vector(p, 5)), 0.0, 100.0),
    Function("ackley5", floats(5, -32.768, 32.768), lambda p: ackley(vector(p, 5)), 0.0, 0.5),
    # Suggested in this order (x1, x2, n, c), as the original script did.
    Function("mixed_branin", (Param("x1", "float", -5, 10), Param("x2", "float", 0, 15),
                              Param("n", "int", 0, 10),
                              Param("c", "categorical", choices=("a", "b", "c", "d"))),
             mixed_branin, 0.397887, 1.0),
    Function("styblinski_tang4", floats(4, -5, 5), lambda p: styblinski_tang(vector(p, 4)),
             -39.16616570377142 * 4, 5.0),
    Function("levy4", floats(4, -10, 10), lambda p: levy(vector(p, 4)), 0.0, 1.0),
]}

ORIGINAL_FIVE = ["branin", "hartmann6", "rosenbrock5", "ackley5", "mixed_branin"]
ALL_SEVEN = ORIGINAL_FIVE + ["styblinski_tang4", "levy4"]


def pick(text, default):
    """The functions named in a comma-separated list (default when text is None)."""
    names = default if text is None else [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in FUNCTIONS]
    if unknown:
        raise SystemExit(f"unknown function(s) {', '.join(unknown)}; known: {', '.join(FUNCTIONS)}")
    return [FUNCTIONS[n] for n in names]


def repeated_pairs(points, params):
    """Pairs of points (dicts of parameter values) within 1e-6 of each numeric parameter's
    range in every coordinate and equal in every categorical one."""
    n = len(points)
    if n < 2:
        return 0
    same = np.ones((n, n), dtype=bool)
    for p in params:
        column = [pt.get(p.name) for pt in points]
        if p.kind == "categorical":
            codes = np.array([p.choices.index(v) if v in p.choices else -1 for v in column])
            same &= codes[:, None] == codes[None, :]
        else:
            v = np.array([np.nan if c is None else float(c) for c in column])
            same &= np.abs(v[:, None] - v[None, :]) <= 1e-6 * (p.high - p.low)
    return int(np.triu(same, k=1).sum())


def quartiles(values):
    """25th, 50th and 75th percentiles (linear interpolation, as anneal's bench); None where a
    value is not finite (a seed with no complete trial yet)."""
    q = np.percentile(np.asarray(values, dtype=float), [25, 50, 75])
    return [float(v) if np.isfinite(v) else None for v in q]


def report_points(evaluations):
    """The evaluation counts at which regret is reported: 25, 50 and 100, capped at the
    study's length (a short smoke run reports at its last evaluation)."""
    return sorted({min(k, evaluations) for k in (25, 50, 100)})


def short(x):
    return None if x is None else float(f"{x:.6g}")
