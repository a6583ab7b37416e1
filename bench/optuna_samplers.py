"""Optuna's side of `anneal bench sampler`: the same five test functions, bounds and seeds
(0..N-1), Optuna's samplers with default settings, simple regret quartiles after 25, 50 and
100 evaluations. Not run by the tests; needs `pip install optuna torch scipy cmaes`.

    python3 bench/optuna_samplers.py tpe 20      # or random, gp, cmaes
"""
import json
import math
import sys

import numpy as np
import optuna

optuna.logging.set_verbosity(optuna.logging.ERROR)


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


def objective(name):
    """The trial function and the known minimum."""
    if name == "branin":
        return lambda t: branin(t.suggest_float("x1", -5, 10), t.suggest_float("x2", 0, 15)), 0.397887
    if name == "hartmann6":
        return lambda t: hartmann6([t.suggest_float(f"x{i}", 0, 1) for i in range(1, 7)]), -3.32237
    if name == "rosenbrock5":
        def rosenbrock(t):
            x = [t.suggest_float(f"x{i}", -5, 10) for i in range(1, 6)]
            return sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(4))
        return rosenbrock, 0.0
    if name == "ackley5":
        def ackley(t):
            x = np.array([t.suggest_float(f"x{i}", -32.768, 32.768) for i in range(1, 6)])
            return (-20 * math.exp(-0.2 * math.sqrt((x * x).mean()))
                    - math.exp(np.cos(2 * math.pi * x).mean()) + 20 + math.e)
        return ackley, 0.0
    if name == "mixed_branin":
        dx = {"a": 0, "b": 2, "c": -3, "d": 5}
        off = {"a": 1, "b": 0, "c": 0.5, "d": 2}
        def mixed(t):
            x1, x2 = t.suggest_float("x1", -5, 10), t.suggest_float("x2", 0, 15)
            n = t.suggest_int("n", 0, 10)
            c = t.suggest_categorical("c", ["a", "b", "c", "d"])
            return branin(x1 + dx[c], x2) + off[c] + 0.1 * (n - 7) ** 2
        return mixed, 0.397887
    raise SystemExit(f"unknown function {name}")


SAMPLERS = {
    "random": optuna.samplers.RandomSampler,
    "tpe": optuna.samplers.TPESampler,
    "gp": optuna.samplers.GPSampler,
    "cmaes": optuna.samplers.CmaEsSampler,
}


def main():
    kind, seeds = sys.argv[1], int(sys.argv[2])
    report = {}
    for name in ["branin", "hartmann6", "rosenbrock5", "ackley5", "mixed_branin"]:
        function, minimum = objective(name)
        curves = []
        for seed in range(seeds):
            study = optuna.create_study(sampler=SAMPLERS[kind](seed=seed))
            study.optimize(function, n_trials=100)
            values = [t.value for t in study.trials]
            curves.append(np.minimum.accumulate(values) - minimum)
        curves = np.array(curves)
        report[name] = {str(k): [float(np.percentile(curves[:, k - 1], q)) for q in (25, 50, 75)]
                        for k in (25, 50, 100)}
        print(kind, name, "median @25/50/100:",
              [round(report[name][k][1], 6) for k in ("25", "50", "100")], flush=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
