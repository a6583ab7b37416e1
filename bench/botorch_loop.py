"""BoTorch's standard Bayesian-optimisation loop on the test functions of `anneal bench sampler`
(same bounds, seeds 0..N-1), as a reference for GP samplers on multimodal functions. Not run by
the tests; clean objectives only (no noise, failures, pruning or parallel workers).

What it measures, per test function: the 25th/50th/75th percentiles over seeds of the simple
regret (best value found minus the known minimum) after 25, 50 and 100 evaluations; how many
pairs of evaluated points per study repeat a point (every parameter within 1e-6 of its range,
categoricals equal: median and max over seeds); the mean wall-clock seconds per suggestion (one
GP fit plus one acquisition optimisation, the Sobol points left out) and per trial (the whole
study divided by its evaluations). One human line per function, then one JSON object keyed by
function name, with the same fields as `optuna_samplers.py`.

The loop, per seed: 10 scrambled Sobol points (torch.quasirandom.SobolEngine seeded with the
seed, torch's global generator too), then at each step a `SingleTaskGP` with BoTorch's default
priors and kernel, inputs normalised to [0,1]^d by `Normalize` with the known bounds and
outcomes standardised by `Standardize`, fitted with `fit_gpytorch_mll`; the acquisition is
`qLogExpectedImprovement` with q=1 (values are negated, BoTorch maximises), optimised by
`optimize_acqf` with num_restarts=10 and raw_samples=512. Double precision throughout.

mixed_branin (a continuous x1, x2, an integer n in 0..10 and a category c in a..d): the model is
`MixedSingleTaskGP` with c encoded 0..3 as its categorical dimension (Normalize leaves that
column alone), and the acquisition is optimised with `optimize_acqf_mixed`, one fixed-feature
setting per category (all four). The integer n is relaxed to the interval [0, 10] for the
model and the optimiser and rounded when the point is evaluated; the rounded value is what the
GP is trained on. Sobol points pick the category as floor(4u).

If a GP fit fails outright (BoTorch's ModelFittingError), the step goes on with the model's
initial hyperparameters and the study counts a fit failure (reported when there are any).

Setup (a throwaway virtualenv outside the repository):

    python3 -m venv /tmp/benchvenv
    /tmp/benchvenv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
    /tmp/benchvenv/bin/pip install scipy botorch
    # (no access to that index: plain `pip install torch`, the CUDA build, runs on a CPU too)

Checked with botorch 0.18.1, gpytorch 1.15.2, torch 2.15.0, scipy 1.17.1, numpy 2.4.6. The
script imports benchfunctions.py from its own folder.

Cost: on two shared cores a suggestion took about 0.6-0.8 s for branin and levy4 early in a
study (it grows with the data), and about 8 s for mixed_branin, where fitting
MixedSingleTaskGP's additive-plus-product kernel takes hundreds of L-BFGS steps and the
acquisition is optimised four times. 90 suggestions x 20 seeds x 7 functions is hours: run
the functions as separate jobs, or fewer seeds for mixed_branin.

Run (torch uses every core; OMP_NUM_THREADS=N limits it):

    python3 bench/botorch_loop.py 20                   # the seven functions, 100 evaluations
    python3 bench/botorch_loop.py 20 --functions styblinski_tang4,levy4
    python3 bench/botorch_loop.py 2 --functions branin --evaluations 15   # smoke run
"""
import argparse
import json
import time
import warnings

import numpy as np
import torch
from botorch.acquisition import qLogExpectedImprovement
from botorch.exceptions import ModelFittingError
from botorch.fit import fit_gpytorch_mll
from botorch.models import MixedSingleTaskGP, SingleTaskGP
from botorch.models.transforms.input import Normalize
from botorch.models.transforms.outcome import Standardize
from botorch.optim import optimize_acqf, optimize_acqf_mixed
from gpytorch.mlls import ExactMarginalLogLikelihood

from benchfunctions import ALL_SEVEN, pick, quartiles, repeated_pairs, report_points, short

DTYPE = torch.double
INITIAL = 10
NUM_RESTARTS = 10
RAW_SAMPLES = 512


def search_bounds(fn):
    """2 x d bounds of the model's space: numeric ranges as they are, categoricals 0..k-1."""
    lows, highs = [], []
    for p in fn.params:
        if p.kind == "categorical":
            lows.append(0.0)
            highs.append(float(len(p.choices) - 1))
        else:
            lows.append(float(p.low))
            highs.append(float(p.high))
    return torch.tensor([lows, highs], dtype=DTYPE)


def evaluated(fn, x):
    """The point a model-space vector stands for (integers rounded, categories decoded) and its
    vector as trained on."""
    point, row = {}, []
    for p, v in zip(fn.params, x.tolist()):
        if p.kind == "categorical":
            code = int(min(max(round(v), 0), len(p.choices) - 1))
            point[p.name] = p.choices[code]
            row.append(float(code))
        elif p.kind == "int":
            n = int(min(max(round(v), p.low), p.high))
            point[p.name] = n
            row.append(float(n))
        else:
            value = float(min(max(v, p.low), p.high))
            point[p.name] = value
            row.append(value)
    return point, row


def sobol_points(fn, seed, count):
    """count scrambled Sobol points in the model space (categories as floor(k u))."""
    u = torch.quasirandom.SobolEngine(len(fn.params), scramble=True, seed=seed).draw(
        count, dtype=DTYPE)
    bounds = search_bounds(fn)
    x = bounds[0] + u * (bounds[1] - bounds[0])
    for j, p in enumerate(fn.params):
        if p.kind == "categorical":
            x[:, j] = torch.clamp(torch.floor(u[:, j] * len(p.choices)), max=len(p.choices) - 1)
    return x


def suggest(fn, train_x, train_y, bounds):
    """One BO step: fit the GP on the negated values and maximise qLogEI; the candidate in the
    model space and whether the fit failed."""
    cat_dims = [j for j, p in enumerate(fn.params) if p.kind == "categorical"]
    numeric = [j for j in range(len(fn.params)) if j not in cat_dims]
    y = -train_y
    if cat_dims:
        model = MixedSingleTaskGP(
            train_x, y, cat_dims=cat_dims,
            input_transform=Normalize(d=train_x.shape[-1], indices=numeric, bounds=bounds),
            outcome_transform=Standardize(m=1))
    else:
        model = SingleTaskGP(
            train_x, y,
            input_transform=Normalize(d=train_x.shape[-1], bounds=bounds),
            outcome_transform=Standardize(m=1))
    fit_failed = False
    try:
        fit_gpytorch_mll(ExactMarginalLogLikelihood(model.likelihood, model))
    except ModelFittingError:
        fit_failed = True
    acquisition = qLogExpectedImprovement(model=model, best_f=y.max())
    if cat_dims:
        grids = [[]]
        for j in cat_dims:
            grids = [g + [(j, float(c))] for g in grids for c in range(len(fn.params[j].choices))]
        candidate, _ = optimize_acqf_mixed(
            acquisition, bounds=bounds, q=1, num_restarts=NUM_RESTARTS,
            raw_samples=RAW_SAMPLES, fixed_features_list=[dict(g) for g in grids])
    else:
        candidate, _ = optimize_acqf(acquisition, bounds=bounds, q=1,
                                     num_restarts=NUM_RESTARTS, raw_samples=RAW_SAMPLES)
    return candidate.detach()[0], fit_failed


def run_study(fn, seed, evaluations):
    """Values in evaluation order, evaluated points, seconds per suggestion, fit failures and
    the study's total seconds."""
    torch.manual_seed(seed)
    bounds = search_bounds(fn)
    start = time.perf_counter()
    rows, values, points, step_seconds, fit_failures = [], [], [], [], 0
    for x in sobol_points(fn, seed, min(INITIAL, evaluations)):
        point, row = evaluated(fn, x)
        rows.append(row)
        points.append(point)
        values.append(fn.value(point))
    while len(values) < evaluations:
        step = time.perf_counter()
        train_x = torch.tensor(rows, dtype=DTYPE)
        train_y = torch.tensor(values, dtype=DTYPE).unsqueeze(-1)
        candidate, failed = suggest(fn, train_x, train_y, bounds)
        step_seconds.append(time.perf_counter() - step)
        fit_failures += failed
        point, row = evaluated(fn, candidate)
        rows.append(row)
        points.append(point)
        values.append(fn.value(point))
    return values, points, step_seconds, fit_failures, time.perf_counter() - start


def run_function(fn, seeds, evaluations):
    at = report_points(evaluations)
    regrets = {k: [] for k in at}
    repeats, step_seconds, fit_failures = [], [], 0
    seconds, trial_count = 0.0, 0
    for seed in range(seeds):
        values, points, steps, failures, total = run_study(fn, seed, evaluations)
        best = np.minimum.accumulate(values) - fn.minimum
        for k in at:
            regrets[k].append(float(best[k - 1]))
        repeats.append(repeated_pairs(points, fn.params))
        step_seconds += steps
        fit_failures += failures
        seconds += total
        trial_count += len(values)
    entry = {str(k): quartiles(regrets[k]) for k in at}
    entry.update({
        "sampler": "botorch_qlogei",
        "variant": "clean",
        "evaluations": evaluations,
        "seeds": seeds,
        "repeated_points": {"median": float(np.median(repeats)), "max": int(max(repeats)),
                            "by_seed": repeats},
        "seconds_per_suggestion": float(np.mean(step_seconds)) if step_seconds else None,
        "seconds_per_trial": seconds / max(trial_count, 1),
    })
    if fit_failures:
        entry["fit_failures"] = fit_failures
    per_suggestion = ("n/a" if entry["seconds_per_suggestion"] is None
                      else f"{entry['seconds_per_suggestion']:.3f}")
    print("botorch clean", fn.name, f"median @{'/'.join(str(k) for k in at)}:",
          [short(entry[str(k)][1]) for k in at],
          f"| repeated pairs median {entry['repeated_points']['median']:g} max "
          f"{entry['repeated_points']['max']} | {per_suggestion} s/suggestion | {seeds} seeds"
          + (f", {fit_failures} failed GP fits" if fit_failures else ""), flush=True)
    return entry


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("seeds", type=int, help="studies with seeds 0..SEEDS-1 per function")
    parser.add_argument("--functions", default=None,
                        help=f"comma-separated (default and known: {','.join(ALL_SEVEN)})")
    parser.add_argument("--evaluations", type=int, default=100,
                        help="evaluations per study, the first 10 Sobol (regret is reported "
                             "at 25, 50, 100, capped)")
    args = parser.parse_args()
    if args.seeds < 1 or args.evaluations < 1:
        parser.error("seeds and --evaluations must be at least 1")
    # BoTorch's numerical and optimisation warnings (jitter added, restarts that stopped early)
    # would bury the figures; a fit that fails outright is counted instead.
    warnings.filterwarnings("ignore")
    report = {}
    for fn in pick(args.functions, ALL_SEVEN):
        report[fn.name] = run_function(fn, args.seeds, args.evaluations)
    print(json.dumps(report))


if __name__ == "__main__":
    main()
