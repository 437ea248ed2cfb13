"""The fit: weighted least squares of simulated against measured curves, with uncertainties.

For parameter values theta (internal coordinates: log10 for log-scale parameters) every
run of the base run file is simulated once (`latticedns.experiment.execute_runs`), each
curve's observable is interpolated at the data times of its stage, and the residuals are
``w (y - a m - b)`` with ``w = 1 / sigma``: the scale ``a`` (per curve, or shared by the
curves of one ``scale_group``; >= 0) and the offset ``b`` of each curve (where fitted) enter
linearly and are solved for at every evaluation by bounded linear least squares (variable
projection), so the optimizer sees only the physical parameters.

Optimizer: `scipy.optimize.least_squares` (trust-region reflective: bounds respected; the
Jacobian by forward differences with steps of 1e-4 in the internal coordinates, i.e. 1e-4
decades on a log scale), from the initial values and, on request, from seeded random
starts inside the bounds.  Uncertainties: the covariance ``s^2 (J^T J)^-1`` at the optimum
(``s^2 = chi^2 / dof`` when the data carry no sigma, else 1), the correlation matrix, and
profile-likelihood 95 % intervals (each parameter stepped away from the optimum with the
others re-optimized, until ``Delta chi^2 / s^2`` reaches 3.84).  Warnings flag what the
data cannot determine: correlations above 0.95, a (nearly) singular ``J^T J``, intervals
that reach a bound, flat profiles.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares, lsq_linear

from ..resources import threads
from .simulate import curves_at
from .spec import FitSpec, weights

__all__ = ["FitResult", "FitProgress", "ParameterEstimate", "CurveFit", "fit", "Objective",
           "CHI2_95"]

#: Delta chi^2 of a 95 % profile-likelihood interval (one parameter).
CHI2_95 = 3.841458820694124
#: Forward-difference step in internal coordinates.
FD_STEP = 1e-4


@dataclass
class ParameterEstimate:
    """A fitted parameter: value, standard error (linearized) and 95 % interval, in the
    key's unit; ``interval_method`` is "profile" or "covariance"."""

    key: str
    value: float
    stderr: float
    lower95: float
    upper95: float
    interval_method: str
    scale: str
    initial: float
    bounds: tuple


@dataclass
class CurveFit:
    """One curve at the optimum: data, model (scaled), residuals in units of sigma."""

    label: str
    t_s: np.ndarray
    data: np.ndarray
    sigma: np.ndarray
    model: np.ndarray
    scale: float
    offset: float

    @property
    def residual(self):
        return (self.data - self.model) / self.sigma


@dataclass
class FitResult:
    """What :func:`fit` found (see the module docstring)."""

    parameters: list
    correlation: np.ndarray
    chi2: float
    dof: int
    sigma_given: bool
    curves: list
    profiles: dict = field(default_factory=dict)
    warnings: list = field(default_factory=list)
    n_evaluations: int = 0
    wall_s: float = 0.0
    status: int = 0
    message: str = ""
    seed_noise: list = field(default_factory=list)  # lattice: rms seed-mean scatter / sigma
    workers: int = 0  # processes that simulated the seeds (0: the fit's own)

    @property
    def reduced_chi2(self):
        return self.chi2 / self.dof if self.dof > 0 else math.nan


@dataclass(frozen=True)
class FitProgress:
    """What a fit reports after every new evaluation (``fit(..., progress=callable)``).

    Attributes
    ----------
    n_evaluations : int
        Simulations of the base run file so far (each simulates every seed).
    chi2 : float
        Of the latest evaluation.
    phase : str
        ``"start 1 of 3"`` (the optimizations), ``"profile 2 of 3: KEY"`` (the intervals)
        or ``"uncertainties"``.
    elapsed_s : float
    left_s : float or None
        Estimated seconds left, from the evaluations the finished phases took (None
        before one optimization has finished).
    """

    n_evaluations: int
    chi2: float
    phase: str
    elapsed_s: float
    left_s: float | None


class _Tracker:
    """Turns the objective's evaluation count into :class:`FitProgress` reports: the work
    left is estimated from the evaluations the finished starts and profiles took."""

    def __init__(self, callback, n_starts, n_profiles):
        self.callback, self.n_starts, self.n_profiles = callback, n_starts, n_profiles
        self.tick = time.perf_counter()
        self.done = {"start": [], "profile": []}
        self.kind, self.index, self.began, self.n = None, 0, 0, 0
        self.phase = f"start 1 of {n_starts}"

    def enter(self, kind, index=0, label=""):
        """A new phase begins (the previous one has finished)."""
        if self.kind in self.done:
            self.done[self.kind].append(self.n - self.began)
        self.kind, self.index, self.began = kind, index, self.n
        total = self.n_starts if kind == "start" else self.n_profiles
        self.phase = (f"{kind} {index + 1} of {total}" + (f": {label}" if label else "")
                      if kind in self.done else kind)

    def _left(self, elapsed):
        if not self.done["start"] or self.n == 0:
            return None
        per_eval = elapsed / self.n
        mean = {k: (sum(v) / len(v) if v else None) for k, v in self.done.items()}
        evals = 0.0
        if self.kind == "start":
            evals += mean["start"] * (self.n_starts - self.index) - (self.n - self.began)
        # before a profile has finished, one is taken as two optimizations (the bundled
        # example: 18 evaluations to the optimum, 83 for its two profiles)
        per_profile = mean["profile"] if mean["profile"] is not None else 2 * mean["start"]
        if self.kind != "profile":
            evals += per_profile * self.n_profiles
        else:
            evals += per_profile * (self.n_profiles - self.index) - (self.n - self.began)
        return max(evals, 0.0) * per_eval

    def __call__(self, n, chi2):
        self.n = n
        elapsed = time.perf_counter() - self.tick
        if self.callback is not None:
            self.callback(FitProgress(n, chi2, self.phase, elapsed, self._left(elapsed)))


class Objective:
    """The residual vector of a fit spec, cached per point (counts its evaluations).

    Parameters
    ----------
    spec : FitSpec
    progress : callable, optional
        ``progress(n_evaluations, chi2)`` after every new evaluation.
    workers : int, optional
        Processes simulating the seeds of a lattice fit with more than one seed
        (`latticedns.fit.workers`; default: one per seed, at most one per core).  Any
        number gives the same bits.  Other fits simulate in this process.

    Call :meth:`close` (or use it as a context manager) to stop the workers.
    """

    def __init__(self, spec: FitSpec, progress=None, workers=None):
        self.spec = spec
        self.progress = progress
        self.n_evaluations = 0
        self._cache = {}
        self._weights = [weights(c) for c in spec.curves]
        self.sigma_given = all(c.curve.sigma is not None for c in spec.curves)
        self._models = {}  # samples and physics built once (execute_runs' model cache)
        self._workers = None
        if len(spec.seeds) > 1:
            from .workers import SeedWorkers

            self._workers = SeedWorkers(spec, threads() if workers is None else workers)

    @property
    def n_workers(self):
        """Processes simulating the seeds (0: this process)."""
        return 0 if self._workers is None else self._workers.n_workers

    def close(self, cancel=False):
        """Stop the seed workers (``cancel``: at once)."""
        if self._workers is not None:
            self._workers.close(cancel)
            self._workers = None

    def __enter__(self):
        return self

    def __exit__(self, kind, value, tb):
        self.close(cancel=kind is not None)

    def values(self, theta):
        return [p.from_internal(x) for p, x in zip(self.spec.parameters, theta)]

    def model_curves(self, theta, per_seed=False):
        """Unscaled model values at every curve's data times (list of arrays).

        A lattice fit averages its seeds (the same samples at every evaluation, so the
        objective is smooth in theta); ``per_seed=True`` returns arrays of shape
        (n_seeds, n_points) instead of their means."""
        values = self.values(theta)
        if self._workers is not None:
            per = self._workers.curves(values)
        else:
            per = [curves_at(self.spec, values, seed, self._models)
                   for seed in self.spec.seeds or (None,)]
        stacked = [np.array([p[k] for p in per]) for k in range(len(self.spec.curves))]
        return stacked if per_seed else [s.mean(axis=0) for s in stacked]

    def projected(self, theta):
        """``(residuals, [(scale, offset, model), ...])`` with the linear nuisances solved."""
        return self._evaluate(theta)[:2]

    def seed_curves(self, theta):
        """The per-seed model curves of the evaluation at theta, arrays (n_seeds, n_points)."""
        return self._evaluate(theta)[2]

    def _evaluate(self, theta):
        key = tuple(float(x) for x in theta)
        if key not in self._cache:
            self.n_evaluations += 1
            per_seed = self.model_curves(theta, per_seed=True)
            models = [runs.mean(axis=0) for runs in per_seed]
            nuis = _linear_nuisances(self.spec.curves, self._weights, models)
            parts = [w * (c.curve.values[c.mask] - a * m - b)
                     for c, w, (a, b, m) in zip(self.spec.curves, self._weights, nuis)]
            r = np.concatenate(parts)
            self._cache[key] = (r, nuis, per_seed)
            if self.progress is not None:
                self.progress(self.n_evaluations, float(r @ r))
        return self._cache[key]

    def __call__(self, theta):
        return self.projected(theta)[0]

    def jacobian(self, theta, lower, upper):
        """Forward differences of the residuals (steps of FD_STEP, backward at an upper bound)."""
        f0 = self(theta)
        J = np.empty((f0.size, len(theta)))
        for i in range(len(theta)):
            h = FD_STEP if theta[i] + FD_STEP <= upper[i] else -FD_STEP
            x = np.array(theta, float)
            x[i] += h
            J[:, i] = (self(x) - f0) / h
        return J


def _linear_nuisances(curves, ws, models):
    """The weighted least-squares scales (>= 0; one per scale group) and offsets of every
    curve, ``y ~ a_group m + b_curve`` (fixed ones: a = 1, b = 0), with their models."""
    groups = sorted({c.scale_group for c in curves if c.scale})
    n_off = [k for k, c in enumerate(curves) if c.offset]
    ncol = len(groups) + len(n_off)
    if ncol == 0:
        return [(1.0, 0.0, m) for m in models]
    rows, rhs = [], []
    for k, (c, w, m) in enumerate(zip(curves, ws, models)):
        block = np.zeros((m.size, ncol))
        y = c.curve.values[c.mask]
        if c.scale:
            block[:, groups.index(c.scale_group)] = w * m
        else:
            y = y - m  # fixed scale 1
        if c.offset:
            block[:, len(groups) + n_off.index(k)] = w
        rows.append(block)
        rhs.append(w * y)
    lower = np.r_[np.zeros(len(groups)), np.full(len(n_off), -np.inf)]
    sol = lsq_linear(np.vstack(rows), np.concatenate(rhs), bounds=(lower, np.inf)).x
    out = []
    for k, (c, m) in enumerate(zip(curves, models)):
        a = float(sol[groups.index(c.scale_group)]) if c.scale else 1.0
        b = float(sol[len(groups) + n_off.index(k)]) if c.offset else 0.0
        out.append((a, b, m))
    return out


def _optimize(obj, x0, lower, upper, free=None, max_nfev=None):
    """least_squares over the ``free`` coordinates (the others fixed at x0)."""
    x0 = np.asarray(x0, float)
    free = np.arange(len(x0)) if free is None else np.asarray(free)
    if free.size == 0:
        return x0, obj(x0)

    def full(z):
        x = x0.copy()
        x[free] = z
        return x

    res = least_squares(lambda z: obj(full(z)), x0[free],
                        jac=lambda z: obj.jacobian(full(z), lower, upper)[:, free],
                        bounds=(lower[free], upper[free]), method="trf", x_scale="jac",
                        max_nfev=max_nfev or 30 * (free.size + 1))
    return full(res.x), res.fun


def _profile(obj, theta, i, lower, upper, chi2_min, s2, sd):
    """Points ``(theta_i, Delta chi^2 / s^2)`` of parameter i's profile and its 95 % ends."""
    others = [j for j in range(len(theta)) if j != i]
    points, ends = [(theta[i], 0.0)], []
    for direction in (-1.0, 1.0):
        bound = lower[i] if direction < 0 else upper[i]
        first = sd if math.isfinite(sd) and sd > 1e-3 else max(1e-3, 0.05 * (upper[i] - lower[i]))
        x, prev, step, end = np.array(theta, float), (theta[i], 0.0), first, None
        for _ in range(8):
            target = np.clip(prev[0] + direction * step, lower[i], upper[i])
            if target == prev[0]:
                break
            x[i] = target
            x, r = _optimize(obj, x, lower, upper, others, max_nfev=10 * len(theta) + 5)
            delta = max(float(r @ r) - chi2_min, 0.0) / s2
            points.append((target, delta))
            if delta >= CHI2_95:  # interpolate sqrt(Delta), ~linear in theta_i
                a, b = math.sqrt(prev[1]), math.sqrt(delta)
                end = prev[0] + (target - prev[0]) * (math.sqrt(CHI2_95) - a) / (b - a)
                break
            prev, step = (target, delta), 2.0 * step
        ends.append(end if end is not None else (bound if x[i] == bound else None))
    points.sort()
    return points, ends


def fit(spec: FitSpec, *, restarts=0, seed=0, profiles=None, progress=None,
        workers=None) -> FitResult:
    """Fit the spec's parameters to its curves (module docstring).

    Parameters
    ----------
    spec : FitSpec
    restarts : int
        Additional starts drawn uniformly inside the bounds (internal coordinates) with
        ``numpy.random.default_rng(seed)``; the best optimum is kept.
    profiles : bool, optional
        Profile-likelihood intervals (default ``spec.profiles``); otherwise intervals from
        the covariance.
    progress : callable, optional
        ``progress(FitProgress)`` after every new evaluation.
    workers : int, optional
        Processes for the seeds of a lattice fit (:class:`Objective`).

    Returns
    -------
    FitResult
    """
    tick = time.perf_counter()
    use_profiles = spec.profiles if profiles is None else profiles
    tracker = _Tracker(progress, 1 + int(restarts), len(spec.parameters) * bool(use_profiles))
    with Objective(spec, tracker, workers) as obj:
        result = _fit(obj, tracker, restarts, seed, use_profiles)
    result.wall_s = time.perf_counter() - tick
    return result


def _fit(obj, tracker, restarts, seed, use_profiles):
    spec = obj.spec
    params = spec.parameters
    lower = np.array([p.to_internal(p.lower) for p in params])
    upper = np.array([p.to_internal(p.upper) for p in params])
    starts = [np.array([p.to_internal(p.initial) for p in params])]
    rng = np.random.default_rng(seed)
    starts += [rng.uniform(lower, upper) for _ in range(int(restarts))]
    best = None
    for k, x0 in enumerate(starts):
        tracker.enter("start", k)
        x, r = _optimize(obj, x0, lower, upper)
        if best is None or r @ r < best[1] @ best[1]:
            best = (x, r)
    theta, r = best
    chi2 = float(r @ r)
    n, k = r.size, len(params)
    dof = n - k - len({c.scale_group for c in spec.curves if c.scale}) \
        - sum(int(c.offset) for c in spec.curves)
    s2 = 1.0 if obj.sigma_given else (chi2 / dof if dof > 0 else math.nan)
    tracker.enter("uncertainties")
    J = obj.jacobian(theta, lower, upper)
    # the base run's validity warnings (at the optimum: a preset override, the continuum's
    # departure from the lattice, a calibration used elsewhere), once each
    warnings = list(dict.fromkeys(
        f"run file: {w}" for run in spec.specs(obj.values(theta), (spec.seeds or (None,))[0])
        for w in run.warnings))
    U, sv, Vt = np.linalg.svd(J, full_matrices=False)
    if sv.size and sv[-1] <= 1e-8 * sv[0]:
        combo = ", ".join(f"{v:+.2f} {p.key}" for v, p in zip(Vt[-1], params) if abs(v) > 0.1)
        warnings.append(f"not identifiable: the data do not constrain the combination {combo} "
                        f"(singular values {sv[-1]:.2e} / {sv[0]:.2e})")
    inv = np.where(sv > 1e-12 * sv[0], 1.0 / np.maximum(sv, 1e-300) ** 2, 0.0)
    cov = s2 * (Vt.T * inv) @ Vt
    sd = np.sqrt(np.maximum(np.diag(cov), 0.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(sd, sd)
    for i in range(k):
        for j in range(i + 1, k):
            if abs(corr[i, j]) > 0.95:
                warnings.append(f"{params[i].key} and {params[j].key} trade off (correlation "
                                f"{corr[i, j]:+.3f}): the data determine them only together")
    estimates, profile_points = [], {}
    for i, p in enumerate(params):
        value = p.from_internal(theta[i])
        # linearized standard error in the key's unit
        se = sd[i] * (value * math.log(10.0) if p.scale == "log" else 1.0)
        lo_i, hi_i = theta[i] - 1.96 * sd[i], theta[i] + 1.96 * sd[i]
        method = "covariance"
        if use_profiles:
            tracker.enter("profile", i, p.key)
            points, (lo_e, hi_e) = _profile(obj, theta, i, lower, upper, chi2, s2, sd[i])
            profile_points[p.key] = [(p.from_internal(x), d) for x, d in points]
            method = "profile"
            lo_i = lower[i] if lo_e is None else lo_e
            hi_i = upper[i] if hi_e is None else hi_e
            at = [name for name, e, b in (("lower", lo_i, lower[i]), ("upper", hi_i, upper[i]))
                  if abs(e - b) <= 1e-12 * max(1.0, abs(b))]
            if len(at) == 2:
                warnings.append(f"{p.key} is not identifiable: its profile stays within "
                                f"Delta chi^2 < 3.84 between both bounds")
            elif at:
                warnings.append(f"the 95 % interval of {p.key} reaches its {at[0]} bound: "
                                f"the data give only a one-sided limit")
        lo_i, hi_i = max(lo_i, lower[i]), min(hi_i, upper[i])
        estimates.append(ParameterEstimate(
            key=p.key, value=value, stderr=float(se), lower95=p.from_internal(lo_i),
            upper95=p.from_internal(hi_i), interval_method=method, scale=p.scale,
            initial=p.initial, bounds=(p.lower, p.upper)))
    _, nuis = obj.projected(theta)
    curves = []
    for c, w, (a, b, m) in zip(spec.curves, obj._weights, nuis):
        sig = (1.0 / w) * (1.0 if obj.sigma_given else math.sqrt(s2))
        curves.append(CurveFit(label=c.label, t_s=c.curve.t_s[c.mask],
                               data=c.curve.values[c.mask], sigma=sig, model=a * m + b,
                               scale=a, offset=b))
    seed_noise = []
    if len(spec.seeds) > 1:  # the scatter of the seed mean, in units of each curve's sigma
        for cf, runs in zip(curves, obj.seed_curves(theta)):
            sem = cf.scale * runs.std(axis=0, ddof=1) / math.sqrt(runs.shape[0])
            seed_noise.append(float(np.sqrt(np.mean((sem / cf.sigma) ** 2))))
        worst = max(seed_noise)
        warnings.append(f"lattice sample noise: the mean of {len(spec.seeds)} seeds scatters "
                        f"by {worst:.2g} sigma (rms, worst curve); the intervals do not include "
                        f"it" + (": use more seeds" if worst > 0.3 else ""))
    if obj.sigma_given and dof > 0:
        red = chi2 / dof
        if red > 2.0:
            warnings.append(f"reduced chi^2 = {red:.2f}: the model does not explain the data "
                            "within their sigmas (or the sigmas are too small)")
    return FitResult(parameters=estimates, correlation=corr, chi2=chi2, dof=dof,
                     sigma_given=obj.sigma_given, curves=curves, profiles=profile_points,
                     warnings=warnings, n_evaluations=obj.n_evaluations,
                     seed_noise=seed_noise, workers=obj.n_workers)
