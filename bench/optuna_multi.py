"""Optuna's side of `anneal bench multi`: the same problems, bounds and seeds (0..N-1), one of
Optuna's samplers for several objectives with default settings, hypervolume quartiles after
100, 200 and 300 evaluations, and the time one suggestion takes. Not run by the tests.

Problems (all minimised, every variable in [0, 1]; definitions as in anneal-bench's multi.rs):
  zdt1, zdt2  two objectives, 30 variables; reference point (1.1, 11)
  dtlz2       three objectives, 12 variables; reference point (1.1, 1.1, 1.1)
  c2dtlz2     DTLZ2 with Jain & Deb's C2 constraint (radius 0.4), through
              trial.set_constraint / constraints; hypervolume of the feasible trials only

Samplers: nsga2 (NSGAIISampler()), tpe (TPESampler() with several objectives), random.
Each study runs in memory (optuna.create_study(), no storage), objective values and constraint
values computed in Python. The hypervolume is Optuna's own (optuna._hypervolume.compute_hypervolume)
over the feasible complete trials among the first k. Suggestion time: a study filled with
300 random trials, then the mean wall time of study.ask() plus suggesting every variable, over
5 asks (each told failed, as anneal's bench does).

Setup (a throwaway virtualenv outside the repository; Optuna 5.x):

    python3 -m venv /tmp/benchvenv
    /tmp/benchvenv/bin/pip install "optuna>=5,<6" scipy

Run:

    python3 bench/optuna_multi.py nsga2 20
    python3 bench/optuna_multi.py tpe 20 --problems zdt1,dtlz2
"""
import argparse
import json
import math
import time

import numpy as np
import optuna
from optuna._hypervolume import compute_hypervolume

PROBLEMS = {"zdt1": (30, 2), "zdt2": (30, 2), "dtlz2": (12, 3), "c2dtlz2": (12, 3)}


def reference(problem):
    return [1.1, 11.0] if problem.startswith("zdt") else [1.1, 1.1, 1.1]


def evaluate(problem, x):
    """Objective values and constraint values (met at or below 0)."""
    if problem in ("zdt1", "zdt2"):
        f1 = x[0]
        g = 1.0 + 9.0 * sum(x[1:]) / (len(x) - 1)
        ratio = f1 / g
        h = 1.0 - math.sqrt(ratio) if problem == "zdt1" else 1.0 - ratio * ratio
        return [f1, g * h], []
    m = 3
    g = sum((v - 0.5) ** 2 for v in x[m - 1:])
    f = []
    for i in range(m):
        value = 1.0 + g
        for v in x[: m - 1 - i]:
            value *= math.cos(v * math.pi / 2)
        if i > 0:
            value *= math.sin(x[m - 1 - i] * math.pi / 2)
        f.append(value)
    if problem != "c2dtlz2":
        return f, []
    r = 0.4
    total = sum(v * v for v in f)
    corner = min(total - f[i] ** 2 + (f[i] - 1.0) ** 2 - r * r for i in range(m))
    centre = sum((v - 1.0 / math.sqrt(m)) ** 2 for v in f) - r * r
    return f, [min(corner, centre)]


def sampler_for(name, seed, constrained):
    constraints = (lambda t: t.user_attrs["c"]) if constrained else None
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed, constraints_func=constraints)
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed, constraints_func=constraints)
    return optuna.samplers.RandomSampler(seed=seed)


def objective(problem):
    n, _ = PROBLEMS[problem]

    def run(trial):
        x = [trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(n)]
        values, constraints = evaluate(problem, x)
        trial.set_user_attr("c", constraints)
        return values

    return run


def front_volume(trials, problem):
    points = [
        t.values
        for t in trials
        if t.state == optuna.trial.TrialState.COMPLETE and all(c <= 0 for c in t.user_attrs["c"])
    ]
    ref = np.array(reference(problem))
    inside = [p for p in points if all(v < r for v, r in zip(p, ref))]
    if not inside:
        return 0.0
    return float(compute_hypervolume(np.array(inside), ref))


def suggestion_ms(problem, sampler_name, history, rounds=5):
    n, m = PROBLEMS[problem]
    constrained = problem == "c2dtlz2"
    study = optuna.create_study(
        directions=["minimize"] * m,
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    study.optimize(objective(problem), n_trials=history)
    study.sampler = sampler_for(sampler_name, 0, constrained)
    started = time.perf_counter()
    for _ in range(rounds):
        trial = study.ask()
        for i in range(n):
            trial.suggest_float(f"x{i}", 0.0, 1.0)
        study.tell(trial, state=optuna.trial.TrialState.FAIL)
    return (time.perf_counter() - started) * 1000.0 / rounds


def quartiles(values):
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    return {"q1": q1, "median": median, "q3": q3}


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("sampler", choices=["nsga2", "tpe", "random"])
    parser.add_argument("seeds", type=int)
    parser.add_argument("--problems", default="zdt1,zdt2,dtlz2,c2dtlz2")
    parser.add_argument("--at", default="100,200,300")
    parser.add_argument("--timing-trials", type=int, default=300)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    at = [int(k) for k in args.at.split(",")]
    report = {}
    for problem in args.problems.split(","):
        _, m = PROBLEMS[problem]
        volumes = {k: [] for k in at}
        for seed in range(args.seeds):
            study = optuna.create_study(
                directions=["minimize"] * m,
                sampler=sampler_for(args.sampler, seed, problem == "c2dtlz2"),
            )
            study.optimize(objective(problem), n_trials=max(at))
            trials = study.get_trials(deepcopy=False)
            for k in at:
                volumes[k].append(front_volume(trials[:k], problem))
        ms = suggestion_ms(problem, args.sampler, args.timing_trials)
        report[problem] = {
            "hypervolume": {k: quartiles(v) for k, v in volumes.items()},
            "final_by_seed": volumes[max(at)],
            "suggestion_ms": ms,
        }
        cells = " | ".join(
            f"@{k}: {quartiles(v)['median']:.4g} [{quartiles(v)['q1']:.4g}, {quartiles(v)['q3']:.4g}]"
            for k, v in volumes.items()
        )
        print(f"{problem} | optuna {args.sampler} | {cells} | {ms:.2f} ms per suggestion", flush=True)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
