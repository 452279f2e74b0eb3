"""Writes optuna-parity.json: Optuna 3.1's own Parzen estimator and truncated-normal values on fixed
inputs, which parzen.test.ts checks fersweep's port against. Regenerate with
/usr/bin/python3 packages/search/src/testing/optuna-parity.py (needs python3-optuna 3.1)."""
import json
import os

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.samplers._tpe import _truncnorm as truncnorm
from optuna.samplers._tpe.parzen_estimator import _ParzenEstimator, _ParzenEstimatorParameters
from optuna.samplers._tpe.sampler import default_weights

assert optuna.__version__.startswith("3.1"), optuna.__version__

# The same space in both languages: fersweep declarations and Optuna distributions.
space = {
    "lr": ({"type": "float", "min": 1e-5, "max": 1.0, "log": True}, FloatDistribution(1e-5, 1.0, log=True)),
    "width": ({"type": "int", "min": 8, "max": 256, "log": True}, IntDistribution(8, 256, log=True)),
    "batch": ({"type": "int", "min": 16, "max": 256, "step": 16}, IntDistribution(16, 256, step=16)),
    "dropout": ({"type": "float", "min": 0.0, "max": 0.7}, FloatDistribution(0.0, 0.7)),
    "opt": ({"type": "categorical", "values": ["adam", "sgd", "rmsprop"]}, CategoricalDistribution(["adam", "sgd", "rmsprop"])),
}
rng = np.random.RandomState(7)
cases = []
for n_obs in (0, 1, 3, 30):
    for multivariate in (False, True):
        for consider_endpoints in (False, True):
            obs = {
                "lr": np.exp(rng.uniform(np.log(1e-5), 0, n_obs)),
                "width": np.round(np.exp(rng.uniform(np.log(7.5), np.log(256.5), n_obs))).clip(8, 256),
                "batch": rng.randint(1, 17, n_obs) * 16.0,
                "dropout": rng.uniform(0, 0.7, n_obs),
                "opt": rng.randint(0, 3, n_obs).astype(float),
            }
            probe = {
                "lr": np.array([1e-5, 3e-4, 0.01, 0.5, 1.0]),
                "width": np.array([8.0, 17.0, 64.0, 200.0, 256.0]),
                "batch": np.array([16.0, 32.0, 128.0, 240.0, 256.0]),
                "dropout": np.array([0.0, 0.1, 0.35, 0.69, 0.7]),
                "opt": np.array([0, 1, 2, 1, 0]),
            }
            params = _ParzenEstimatorParameters(True, 1.0, True, consider_endpoints, default_weights, multivariate)
            pe = _ParzenEstimator(obs, {k: v[1] for k, v in space.items()}, params)
            cases.append(
                {
                    "multivariate": multivariate,
                    "considerEndpoints": consider_endpoints,
                    "observations": {k: v.tolist() for k, v in obs.items()},
                    "probe": {k: v.tolist() for k, v in probe.items()},
                    "logPdf": pe.log_pdf(probe).tolist(),
                }
            )

grid = np.linspace(-30, 30, 61)
pairs = [(-40.0, -35.0), (-3.0, -1.0), (-1.0, 2.0), (0.5, 4.0), (6.0, 9.0), (-1.0, 1.0)]
qs = [1e-9, 0.01, 0.3, 0.5, 0.9, 1 - 1e-9]
out = {
    "space": {k: v[0] for k, v in space.items()},
    "cases": cases,
    "logNdtr": {"x": grid.tolist(), "y": truncnorm._log_ndtr(grid).tolist()},
    "logGaussMass": [[a, b, float(truncnorm._log_gauss_mass(np.array([a]), np.array([b]))[0])] for a, b in pairs],
    "ppf": [[q, a, b, float(truncnorm.ppf(np.array([q]), a, b)[0])] for q in qs for a, b in pairs],
    "weights": {str(n): default_weights(n).tolist() for n in (0, 5, 25, 26, 40)},
}
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "optuna-parity.json")
with open(path, "w") as f:
    json.dump(out, f)
print(f"wrote {path}")
