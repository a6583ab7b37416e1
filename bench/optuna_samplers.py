"""Optuna's side of `anneal bench sampler`: the same test functions, bounds and seeds (0..N-1),
one of Optuna's samplers with default settings, simple regret quartiles after 25, 50 and 100
evaluations. Not run by the tests.

What it measures, per test function: the 25th/50th/75th percentiles over seeds of the simple
regret (best value found minus the known minimum) after 25, 50 and 100 evaluations; how many
pairs of trials per study repeat a point (every parameter within 1e-6 of its range, categoricals
equal: median and max over seeds); and the mean wall-clock seconds per trial (sampler plus
objective). One human line per function, then one JSON object keyed by function name.

Functions (`--functions a,b`; default the five of the published comparison): branin,
hartmann6, rosenbrock5, ackley5, mixed_branin, and the multimodal styblinski_tang4 and levy4
(definitions in benchfunctions.py).

Variants (the optional third argument; `clean` by default):
  clean     the objective as it is.
  noisy     each evaluation returns f(x) + N(0, s_f^2) (s_f per function, numpy Generator
            seeded with the seed); regret at k is the noiseless value of the trial with the
            lowest observed value among the first k complete trials, minus the minimum.
  parallel  four simulated workers through study.ask()/study.tell(): four trials in flight,
            one of them (chosen at random, numpy Generator seeded with seed+1000) is told and a
            new one asked, so each ask sees three pending trials; once all are asked the rest
            are told in random order. Regret at k covers the first k trials asked.
  failures  the objective returns NaN (Optuna records the trial as failed) when x1 lies in the
            top 15% of its range; regret counts complete trials only.
  pruned    nine intermediate values per trial, f(x) + 10 s_f (1 + u1)(exp(-(s-1)/2) - exp(-4))
            at step s (u1 = x1's position in its range; step 9 is f(x)), reported with
            trial.report / trial.should_prune under MedianPruner(n_startup_trials=5,
            n_warmup_steps=0); pruned trials count towards the budget, regret counts complete
            trials only.

Setup (a throwaway virtualenv outside the repository; Optuna 5.x):

    python3 -m venv /tmp/benchvenv
    /tmp/benchvenv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
    /tmp/benchvenv/bin/pip install "optuna>=5,<6" scipy cmaes
    # (no access to that index: plain `pip install torch`, the CUDA build, runs on a CPU too)

Checked with optuna 5.1.0, torch 2.15.0, scipy 1.17.1, cmaes 0.13.1, numpy 2.4.6.
The script imports benchfunctions.py from its own folder. Cost on two cores, 20 seeds, the five
functions, 100 evaluations: random, TPE and CMA-ES a few minutes; GP about 0.2 s a trial, so
some 35 minutes per variant.

Run:

    python3 bench/optuna_samplers.py tpe 20               # or random, gp, cmaes
    python3 bench/optuna_samplers.py gp 20 noisy --functions styblinski_tang4,levy4
    python3 bench/optuna_samplers.py tpe 2 pruned --functions branin --evaluations 15  # smoke
"""
import argparse
import json
import math
import time

import numpy as np
import optuna

from benchfunctions import (ALL_SEVEN, ORIGINAL_FIVE, pick, quartiles, repeated_pairs,
                            report_points, short)

optuna.logging.set_verbosity(optuna.logging.ERROR)

SAMPLERS = {
    "random": optuna.samplers.RandomSampler,
    "tpe": optuna.samplers.TPESampler,
    "gp": optuna.samplers.GPSampler,
    "cmaes": optuna.samplers.CmaEsSampler,
}
VARIANTS = ["clean", "noisy", "parallel", "failures", "pruned"]
WORKERS = 4
FAIL_ABOVE = 0.85
PRUNING_STEPS = 9
COMPLETE = optuna.trial.TrialState.COMPLETE


def suggest(trial, params):
    """Every parameter of the function, suggested in its declared order."""
    point = {}
    for p in params:
        if p.kind == "float":
            point[p.name] = trial.suggest_float(p.name, p.low, p.high)
        elif p.kind == "int":
            point[p.name] = trial.suggest_int(p.name, int(p.low), int(p.high))
        else:
            point[p.name] = trial.suggest_categorical(p.name, list(p.choices))
    return point


def make_objective(fn, variant, seed):
    rng = np.random.default_rng(seed)
    first = fn.params[0]

    def objective(trial):
        point = suggest(trial, fn.params)
        value = fn.value(point)
        if variant == "noisy":
            trial.set_user_attr("noiseless", value)
            return value + rng.normal(0.0, fn.scale)
        if variant == "failures" and first.position(point["x1"]) > FAIL_ABOVE:
            return float("nan")
        if variant == "pruned":
            u1 = first.position(point["x1"])
            for step in range(1, PRUNING_STEPS + 1):
                bump = math.exp(-(step - 1) / 2) - math.exp(-(PRUNING_STEPS - 1) / 2)
                trial.report(value + 10 * fn.scale * (1 + u1) * bump, step)
                if trial.should_prune():
                    raise optuna.TrialPruned()
        return value

    return objective


def run_parallel(study, fn, seed, evaluations):
    """Four workers simulated with ask/tell; the order of completion is random."""
    rng = np.random.default_rng(seed + 1000)
    in_flight = []
    asked = 0

    def ask():
        nonlocal asked
        trial = study.ask()
        in_flight.append((trial, fn.value(suggest(trial, fn.params))))
        asked += 1

    while asked < min(WORKERS, evaluations):
        ask()
    while asked < evaluations:
        trial, value = in_flight.pop(int(rng.integers(len(in_flight))))
        study.tell(trial, value)
        ask()
    for i in rng.permutation(len(in_flight)):
        trial, value = in_flight[i]
        study.tell(trial, value)


def regret_at(trials, k, minimum, noisy):
    done = [t for t in trials[:k] if t.state == COMPLETE]
    if not done:
        return math.inf
    if noisy:
        return min(done, key=lambda t: t.value).user_attrs["noiseless"] - minimum
    return min(t.value for t in done) - minimum


def run_function(fn, kind, variant, seeds, evaluations):
    points = report_points(evaluations)
    regrets = {k: [] for k in points}
    repeats, incomplete = [], []
    seconds, trial_count = 0.0, 0
    for seed in range(seeds):
        pruner = (optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=0)
                  if variant == "pruned" else None)
        study = optuna.create_study(sampler=SAMPLERS[kind](seed=seed), pruner=pruner)
        start = time.perf_counter()
        if variant == "parallel":
            run_parallel(study, fn, seed, evaluations)
        else:
            study.optimize(make_objective(fn, variant, seed), n_trials=evaluations)
        seconds += time.perf_counter() - start
        trials = sorted(study.trials, key=lambda t: t.number)
        trial_count += len(trials)
        for k in points:
            regrets[k].append(regret_at(trials, k, fn.minimum, variant == "noisy"))
        repeats.append(repeated_pairs([t.params for t in trials], fn.params))
        incomplete.append(sum(t.state != COMPLETE for t in trials))
    entry = {str(k): quartiles(regrets[k]) for k in points}
    entry.update({
        "sampler": kind,
        "variant": variant,
        "evaluations": evaluations,
        "seeds": seeds,
        "repeated_points": {"median": float(np.median(repeats)), "max": int(max(repeats)),
                            "by_seed": repeats},
        "seconds_per_trial": seconds / max(trial_count, 1),
    })
    if variant in ("failures", "pruned"):
        entry["failed_or_pruned_trials_median"] = float(np.median(incomplete))
    at = "/".join(str(k) for k in points)
    state = "failed" if variant == "failures" else "pruned"
    extra = (f", {entry['failed_or_pruned_trials_median']:g} {state} trials (median)"
             if "failed_or_pruned_trials_median" in entry else "")
    print(kind, variant, fn.name, f"median @{at}:",
          [short(entry[str(k)][1]) for k in points],
          f"| repeated pairs median {entry['repeated_points']['median']:g} max "
          f"{entry['repeated_points']['max']} | {entry['seconds_per_trial']:.4f} s/trial | "
          f"{seeds} seeds{extra}", flush=True)
    return entry


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("sampler", choices=sorted(SAMPLERS))
    parser.add_argument("seeds", type=int, help="studies with seeds 0..SEEDS-1 per function")
    parser.add_argument("variant", nargs="?", default="clean", choices=VARIANTS)
    parser.add_argument("--functions", default=None,
                        help=f"comma-separated (default: {','.join(ORIGINAL_FIVE)}; "
                             f"known: {','.join(ALL_SEVEN)})")
    parser.add_argument("--evaluations", type=int, default=100,
                        help="trials per study (regret is reported at 25, 50, 100, capped)")
    args = parser.parse_args()
    if args.seeds < 1 or args.evaluations < 1:
        parser.error("seeds and --evaluations must be at least 1")
    report = {}
    for fn in pick(args.functions, ORIGINAL_FIVE):
        report[fn.name] = run_function(fn, args.sampler, args.variant, args.seeds,
                                       args.evaluations)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
