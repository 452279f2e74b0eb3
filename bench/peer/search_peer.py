#!/usr/bin/env python3
"""The simulated trainer of the search benchmark (bench/src/search.ts), and Optuna 3.1 as its peer.

One objective, one implementation: fersweep's side calls this file as a JSON-lines subprocess
(`serve`), Optuna's side calls `curve()` in process, so both optimisers see exactly the same numbers.

The trainer: a learning-curve model of a small image classifier over four hyperparameters —
learning rate (log scale; its optimum grows with the square root of the batch size), batch size,
width and dropout — with a known optimum, plus noise seeded by (bench seed, trial number), so a
given trial number of a given seed sees the same noise under every optimiser (common random
numbers). Validation accuracy per epoch:

    acc(e) = chance + (A − chance)·(1 − exp(−e/τ)) − overfit(e) + trial offset + epoch noise

Modes:
  search_peer.py serve       stdin: {"params": {...}, "seed": s, "trial": k, "epochs": E} per line;
                             stdout: {"curve": [acc(1), …, acc(E)], "true": A-curve final} per line
  search_peer.py optuna JSON runs Optuna's TPESampler and RandomSampler: {"seeds": [...],
                             "trials": n, "epochs": E}; prints one JSON line of per-seed histories
  search_peer.py optimum E   prints the noise-free optimum at E epochs as JSON
"""
import json
import math
import sys
import time

import numpy as np

CHANCE = 1 / 7
SPACE = {
    "learningRate": {"type": "float", "min": 1e-5, "max": 1.0, "log": True},
    "batchSize": {"type": "int", "min": 16, "max": 512, "log": True},
    "width": {"type": "int", "min": 8, "max": 512, "log": True},
    "dropout": {"type": "float", "min": 0.0, "max": 0.7},
}


def asymptote(p):
    """The noise-free accuracy the configuration converges to, and its time constant."""
    lr, bs, width, dropout = p["learningRate"], p["batchSize"], p["width"], p["dropout"]
    lr_opt = 3e-3 * math.sqrt(bs / 64)
    d_lr = math.log10(lr / lr_opt)
    a = 0.74 - 0.09 * d_lr**2 - 0.012 * math.log2(width / 160) ** 2 - 0.6 * (dropout - 0.3) ** 2
    a -= 0.01 * math.log2(bs / 64) ** 2 / 4  # large batches generalise a little worse
    if d_lr > 1.3:  # diverges
        a = CHANCE
    a = max(CHANCE, a)
    tau = (1.5 + 5 * max(0.0, -d_lr)) * (1 + dropout) * (bs / 64) ** 0.25
    return a, tau


def true_curve(p, epochs):
    a, tau = asymptote(p)
    width, dropout = p["width"], p["dropout"]
    over = 0.0025 * max(0.0, 0.3 - dropout) / 0.3 * (width / 128) ** 0.5
    return [CHANCE + (a - CHANCE) * (1 - math.exp(-e / tau)) - over * max(0, e - 8) for e in range(1, epochs + 1)]


def curve(p, seed, trial, epochs):
    rng = np.random.RandomState((seed * 100003 + trial) % 2**32)
    offset = rng.normal(0, 0.006)
    noise = rng.normal(0, 0.004, epochs)
    return [min(1.0, max(0.0, v + offset + n)) for v, n in zip(true_curve(p, epochs), noise)]


def serve():
    for line in sys.stdin:
        req = json.loads(line)
        c = curve(req["params"], req["seed"], req["trial"], req["epochs"])
        t = true_curve(req["params"], req["epochs"])
        sys.stdout.write(json.dumps({"curve": c, "true": t[-1]}) + "\n")
        sys.stdout.flush()


def optimum(epochs):
    """The analytic optimum: every penalty term of asymptote() is zero there (lr on its optimum for
    batch 64, width 160, dropout 0.3 — no overfitting term either)."""
    p = {"learningRate": 3e-3, "batchSize": 64, "width": 160, "dropout": 0.3}
    return true_curve(p, epochs)[-1], p


def run_optuna(cfg):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    out = {"version": optuna.__version__, "tpe": [], "random": [], "seconds": {}}
    for name in ("tpe", "random"):
        t0 = time.perf_counter()
        for seed in cfg["seeds"]:
            sampler = (
                optuna.samplers.TPESampler(seed=seed)
                if name == "tpe"
                else optuna.samplers.RandomSampler(seed=seed)
            )
            study = optuna.create_study(direction="maximize", sampler=sampler)
            values, trues, params = [], [], []

            def objective(trial):
                p = {
                    "learningRate": trial.suggest_float("learningRate", 1e-5, 1.0, log=True),
                    "batchSize": trial.suggest_int("batchSize", 16, 512, log=True),
                    "width": trial.suggest_int("width", 8, 512, log=True),
                    "dropout": trial.suggest_float("dropout", 0.0, 0.7),
                }
                c = curve(p, seed, trial.number, cfg["epochs"])
                values.append(c[-1])
                params.append(p)
                trues.append(true_curve(p, cfg["epochs"])[-1])
                return c[-1]

            study.optimize(objective, n_trials=cfg["trials"])
            out[name].append({"seed": seed, "values": values, "true": trues, "params": params})
        out["seconds"][name] = time.perf_counter() - t0
    return out


if __name__ == "__main__":
    mode = sys.argv[1] if len(sys.argv) > 1 else "serve"
    if mode == "serve":
        serve()
    elif mode == "optuna":
        print(json.dumps(run_optuna(json.loads(sys.argv[2]))))
    elif mode == "optimum":
        v, p = optimum(int(sys.argv[2]) if len(sys.argv) > 2 else 27)
        print(json.dumps({"value": v, "params": p}))
    else:
        sys.exit(f"unknown mode {mode}: serve, optuna or optimum")
