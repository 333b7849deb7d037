"""SPEC RG elasticity metrics (Herbst et al., "Ready for Rain?", SPEC-RG-2016-01).

Demand ``d`` is ``demand_replicas``, supply ``s`` is ``ready_replicas``, both sampled every
``Δt`` over a trial of length ``T``. Samples where either is missing are left out everywhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Elasticity:
    """The six SPEC elasticity metrics of one trial; NaN when a metric is undefined."""

    theta_u_pct: float
    """Under-provisioning accuracy θU, % of demand missing on average."""
    theta_o_pct: float
    """Over-provisioning accuracy θO, % of demand provided in excess on average."""
    tau_u_pct: float
    """Under-provisioning timeshare τU, % of time with s < d."""
    tau_o_pct: float
    """Over-provisioning timeshare τO, % of time with s > d."""
    upsilon_pct: float
    """Instability υ, % of time supply and demand move in different directions."""
    psi_per_min: float
    """Jitter ψ, (supply adaptations − demand changes) per minute; 0 is ideal, > 0 means
    the supply oscillates more than the demand, < 0 that it does not follow every change."""


def elasticity(demand: FloatArray, supply: FloatArray, *, dt_s: float = 1.0) -> Elasticity:
    """Compute θU, θO, τU, τO, υ and ψ.

    - θU = 100/T · Σ max(d−s, 0)/d · Δt and θO = 100/T · Σ max(s−d, 0)/d · Δt, summed over
      the samples with d > 0 and T their total length (d = 0 makes the ratio undefined, so
      such samples are excluded from both the sum and T); NaN when no sample has d > 0.
    - τU = 100/T · Σ 1[d > s] · Δt, τO = 100/T · Σ 1[s > d] · Δt over every sample.
    - υ = 100/(T−Δt) · Σ min(|sgn Δs − sgn Δd|, 1) · Δt over consecutive sample pairs;
      NaN with fewer than two samples.
    - ψ = (supply adaptations − demand changes) / (T in minutes), an adaptation being a
      sample where the value differs from the previous one.

    ``demand`` and ``supply`` are equally long; NaN marks a missing sample.
    """
    d = np.asarray(demand, dtype="float64")
    s = np.asarray(supply, dtype="float64")
    if d.shape != s.shape:
        raise ValueError("demand and supply must have the same length")
    present = ~(np.isnan(d) | np.isnan(s))
    d, s = d[present], s[present]
    n = len(d)
    if n == 0:
        return Elasticity(*(math.nan,) * 6)
    total_s = n * dt_s
    positive = d > 0
    if positive.any():
        dp, sp = d[positive], s[positive]
        theta_t = positive.sum() * dt_s
        theta_u = 100.0 / theta_t * float(np.sum(np.maximum(dp - sp, 0) / dp)) * dt_s
        theta_o = 100.0 / theta_t * float(np.sum(np.maximum(sp - dp, 0) / dp)) * dt_s
    else:
        theta_u = theta_o = math.nan
    tau_u = 100.0 / total_s * float(np.sum(d > s)) * dt_s
    tau_o = 100.0 / total_s * float(np.sum(s > d)) * dt_s
    ds, dd = np.diff(s), np.diff(d)
    if n >= 2:
        mismatch = np.minimum(np.abs(np.sign(ds) - np.sign(dd)), 1.0)
        upsilon = 100.0 / (total_s - dt_s) * float(mismatch.sum()) * dt_s
    else:
        upsilon = math.nan
    adaptations = int(np.count_nonzero(ds))
    changes = int(np.count_nonzero(dd))
    psi = (adaptations - changes) / (total_s / 60.0)
    return Elasticity(theta_u, theta_o, tau_u, tau_o, upsilon, psi)
