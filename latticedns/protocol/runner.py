"""Drive a model (lattice or continuum) through a sequence of stages with the exact propagator.

The state p starts at the thermal proton polarization.  Instantaneous stages act on p
directly; timed stages propagate ``M dp/dt = A p + s`` of the stage's electron condition
with :class:`latticedns.propagation.Propagator` (one per condition, so factorizations are
reused).  Observables are the model's visible and hidden mean polarizations.

Small-angle pulses (:class:`~latticedns.protocol.stages.Detect`): each pulse multiplies the
visible polarization by cos(theta).  ``pulse_model="discrete"`` applies exactly that between
propagation steps (one Krylov build per pulse, or one dense matrix-vector product);
``"continuous"`` replaces the train by the equivalent loss rate -ln(cos theta)/interval on
the excited protons, which is exact when the excited set does not exchange with the rest
during one interval and otherwise differs at second order (``docs/theory.md``, section 7).
``"auto"`` is discrete for the dense method on the lattice (small systems) and continuous
otherwise, including the continuum (its loss is weighted by the mass matrix; continuous and
discrete trains differ by 7.5e-7 of the peak at 0.1 degree there, and the continuous one
makes a 20-power series of 1024 reads each 8x faster: 0.9 s instead of 7.2 s).

Visible pool (``docs/theory.md``, section 7): a proton is visible when its hyperfine shift
lies within the band.  ``visible_pool="saturated"`` (default) evaluates the shift at the
electron polarization of the last selective saturation, so after it the observables and
the readout pulses follow the pool that the saturation zeroed, whatever the microwaves do
later (the HypRes observable: polarization returning to the saturated spins).
``"shift"`` re-evaluates it at each stage's Pbar: switching microwaves on then shrinks the
shifts and moves hyperpolarized protons into the visible set at once.  Before any selective
saturation (or after a full one) both use the stage's Pbar.
"""

import copy
import hashlib
import time
from dataclasses import dataclass, field

import numpy as np
import scipy.sparse as sp

from .._args import check_choice
from ..propagation import Propagator
from ..propagation.propagator import auto_method, reference_time
from ..propagation.solvers import SOLVERS
from .microwave import OFF, MicrowaveCalibration
from .stages import Delay, Detect, Microwave, Saturate, SelectiveSaturate

__all__ = ["VISIBLE_POOLS", "PULSE_MODELS", "ProtocolResult", "run_protocol"]

#: How the visible set is chosen after a selective saturation (module docstring).
VISIBLE_POOLS = ("saturated", "shift")
#: Small-angle detection pulse models (``docs/theory.md`` section 7): "auto" is "discrete"
#: for the dense method without a mass matrix, else "continuous".
PULSE_MODELS = ("auto", "discrete", "continuous")


@dataclass
class ProtocolResult:
    """Observables recorded through a protocol.

    Attributes
    ----------
    t_s : ndarray, shape (T,)
        Times in s from the start of the first stage.
    visible, hidden : ndarray, shape (T,)
        Mean polarization of the visible / hidden protons (dimensionless).
    stage : ndarray of int, shape (T,)
        Index of the stage each time belongs to.
    profile_t_s : ndarray, shape (K,)
        Times in s of the radial profiles.
    profiles : ndarray, shape (K, B)
        Mean polarization in shells of distance to the nearest radical.
    profile_edges_nm : ndarray, shape (B + 1,)
    p_final : ndarray, shape (n,)
        State at the end.
    cost : dict
        Work counters: wall seconds per stage, factorizations, solves.
    """

    t_s: np.ndarray
    visible: np.ndarray
    hidden: np.ndarray
    stage: np.ndarray
    profile_t_s: np.ndarray
    profiles: np.ndarray
    profile_edges_nm: np.ndarray
    p_final: np.ndarray
    cost: dict = field(default_factory=dict)


class _Recorder:
    def __init__(self, model, edges, profile_times):
        self.t, self.obs, self.stage = [], [], []
        self.edges = np.asarray(edges, float)
        self.profile_w = model.radial_profile_weights(self.edges)
        self.profile_times = np.sort(np.asarray(profile_times, float))
        self.prof_t, self.prof = [], []

    def add(self, t, obs, stage):
        self.t.append(np.atleast_1d(t))
        self.obs.append(np.atleast_2d(obs))
        self.stage.append(np.full(np.size(t), stage))

    def profile(self, t, p):
        self.prof_t.append(t)
        self.prof.append(self.profile_w @ p)

    def fork(self):
        twin = copy.copy(self)
        twin.t, twin.obs, twin.stage = list(self.t), list(self.obs), list(self.stage)
        twin.prof_t, twin.prof = list(self.prof_t), list(self.prof)
        return twin

    def due(self, t0, t1):
        """Profile times in [t0, t1)."""
        pt = self.profile_times
        return pt[(pt >= t0) & (pt < t1)]


def _propagator(cache, pool, model, condition, method, rtol, solver, loss=None, plans=None):
    """The run's propagator of a condition (optionally with the pulse loss ``(mask, rate)``).

    ``cache`` is the run's own; conditions with the same operator
    (`ElectronCondition.operator_condition`) share one operator cache in it, and ``pool``
    (the protocol's) shares solvers built for the same operator and shift across runs.
    ``plans`` (:meth:`_Protocol.plans`) announces the run's stages on each operator.
    """
    mask_key = None if loss is None else (hashlib.sha1(loss[0].tobytes()).hexdigest(), loss[1])
    key = (condition, mask_key, method)
    if key not in cache:
        base_key = (condition.operator_condition, mask_key, method)
        system = model.system(condition)
        if base_key in cache:
            cache[key] = cache[base_key].with_source(system.source)
        else:
            operator = system.operator if loss is None else \
                system.operator - _pulse_loss(system, *loss)
            prop = Propagator(operator, system.source, system.mass, method=method, rtol=rtol,
                              solver=solver, pool=(pool, base_key))
            plan = (plans or {}).get((condition.operator_condition, loss is not None))
            cache[key] = cache[base_key] = prop.plan(plan) if plan else prop
    return cache[key]


def _pulse_loss(system, mask, rate):
    """The pulse loss ``rate`` on the excited DOFs, ``rate D M D`` weakly.

    ``D = diag(mask)``; with the identity mass (lattice) this is ``diag(rate * mask)``, with a
    finite-element mass matrix it is the loss term of the weak form restricted to the
    excited DOFs (symmetric, as the propagator requires).
    """
    d = sp.diags(mask.astype(float))
    return rate * (d if system.mass is None else d @ sp.csr_matrix(system.mass) @ d)


class _Run:
    """Everything a protocol carries from one stage to the next (forkable at a stage end)."""

    def __init__(self, p, rec, plans):
        self.p, self.rec, self.t0, self.mw_now = p, rec, 0.0, OFF
        self.plans = plans  # the stage plan of every operator the run will use
        self.pool_pbar = None  # Pbar of the last selective saturation, when it fixes the pool
        self.cache = {}  # this run's propagators (_propagator)
        self.cost = {"stage_seconds": [], "n_factorizations": 0, "n_solves": 0, "solver": ""}

    def fork(self):
        """An independent copy; its propagators share the solvers built so far."""
        twin = copy.copy(self)
        twin.p, twin.rec = self.p.copy(), self.rec.fork()
        twin.cache = {k: prop.fork() for k, prop in self.cache.items()}
        twin.cost = copy.deepcopy(self.cost)
        return twin


class _Protocol:
    """Settings of :func:`run_protocol` and the stage step shared by every run of them."""

    def __init__(self, model, calibration=None, *, bandwidth_kHz=200.0, profile_edges_nm=None,
                 profile_times_s=(), method="auto", rtol=1e-8, pulse_model="auto",
                 visible_pool="saturated", solver="auto"):
        check_choice("visible_pool", visible_pool, VISIBLE_POOLS)
        check_choice("solver", solver, SOLVERS)
        self.solver = solver
        self.model, self.cal = model, calibration or MicrowaveCalibration()
        self.method = auto_method(model.n, model.mass is not None) if method == "auto" \
            else method
        check_choice("pulse_model", pulse_model, PULSE_MODELS)
        if pulse_model == "auto":
            pulse_model = "discrete" if self.method == "dense" and model.mass is None \
                else "continuous"
        self.pulse_model, self.rtol, self.visible_pool = pulse_model, rtol, visible_pool
        self.bandwidth_kHz = bandwidth_kHz
        self.edges = np.arange(0.3, 3.01, 0.1) if profile_edges_nm is None else profile_edges_nm
        self.profile_times_s = profile_times_s
        self.pool = {}  # solvers shared by every run of this protocol (_propagator)

    def start(self, stages, p0=None):
        model = self.model
        p = np.full(model.n, model.params.proton_thermal) if p0 is None else np.array(p0, float)
        run = _Run(p, _Recorder(model, self.edges, self.profile_times_s), self.plans(stages))
        run.cost["pulse_model"] = self.pulse_model  # as resolved from "auto"
        return run

    def plans(self, stages):
        """``{(operator condition, with pulse loss): (t_ref, ...)}`` of a stage list.

        The reference time of each timed stage (`Propagator.plan`), grouped by the operator
        it runs on, in order; fixed by the stages alone, so a run's solver choices are the
        same whether it runs alone or after others.
        """
        plans = {}
        if self.method != "krylov":  # only the Krylov method has shifts to choose
            return plans
        for stage in stages:
            if isinstance(stage, (Microwave, Delay)):
                cond = self.cal.condition(stage.microwave)
                first = stage.duration_s / stage.n_outputs if stage.n_outputs else stage.duration_s
                key = (cond.operator_condition, False)
                t_ref = reference_time(first, stage.duration_s)
            elif isinstance(stage, Detect):
                cond = self.cal.condition(stage.microwave)
                continuous = self.pulse_model == "continuous" and np.cos(
                    np.deg2rad(stage.flip_angle_deg)) > 0
                dt = stage.interval_s
                key = (cond.operator_condition, continuous)
                t_ref = reference_time(dt, stage.duration_s) if continuous else dt
            else:
                continue
            plans.setdefault(key, []).append(float(t_ref))
        return {k: tuple(v) for k, v in plans.items()}

    def _log(self, run, stage):
        """Record in ``run.cost["stages"]`` the microwave setting a stage runs at (the one in
        force for instantaneous saturations) and the visible pool of its records: the Pbar
        and the bandwidth (kHz) at which visibility is judged (for a selective saturation,
        the pool it zeroes)."""
        instantaneous = isinstance(stage, (Saturate, SelectiveSaturate))
        mw = run.mw_now if instantaneous else stage.microwave
        pbar = self.cal.condition(mw).pbar
        if isinstance(stage, SelectiveSaturate):
            pool = (pbar, stage.bandwidth_kHz)
        else:
            fixed = None if isinstance(stage, Saturate) else run.pool_pbar
            band = stage.bandwidth_kHz if isinstance(stage, Detect) else self.bandwidth_kHz
            pool = (pbar if fixed is None else fixed, band)
        run.cost.setdefault("stages", []).append(
            {"power_mW": float(mw.power_mW), "dnp_sign": int(mw.dnp_sign),
             "pool_pbar": float(pool[0]), "pool_bandwidth_kHz": float(pool[1])})

    def step(self, run, k, stage, report):
        """Apply stage ``k`` to ``run`` in place."""
        model, cal, tick = self.model, self.cal, time.perf_counter()
        self._log(run, stage)
        if isinstance(stage, Saturate):
            run.p = run.p * stage.residual
            run.pool_pbar = None
        elif isinstance(stage, SelectiveSaturate):
            pbar_now = cal.condition(run.mw_now).pbar
            run.p = model.saturate(run.p, pbar_now, stage.bandwidth_kHz, stage.residual)
            run.pool_pbar = pbar_now if self.visible_pool == "saturated" else None
        elif isinstance(stage, (Microwave, Delay)):
            cond = cal.condition(stage.microwave)
            prop = _propagator(run.cache, self.pool, model, cond, self.method, self.rtol,
                               self.solver, plans=run.plans)
            times = np.linspace(0.0, stage.duration_s, stage.n_outputs + 1)[1:] \
                if stage.n_outputs else np.array([stage.duration_s])
            prof_at = run.rec.due(run.t0, run.t0 + stage.duration_s) - run.t0
            obs_pbar = cond.pbar if run.pool_pbar is None else run.pool_pbar
            res = prop.sample(run.p, times, model.observable_weights(obs_pbar, self.bandwidth_kHz),
                              states_at=prof_at if len(prof_at) else None)
            _count(run.cost, res)
            for tp, state in zip(prof_at, res.states if len(prof_at) else []):
                run.rec.profile(run.t0 + tp, state)
            run.rec.add(run.t0 + times, res.signals, k)
            run.p = res.p_final
            run.mw_now = stage.microwave
        elif isinstance(stage, Detect):
            run.p = _detect(stage, model, cal, run.p, run.t0, k, run.rec, (run.cache, self.pool),
                            run.cost, self.method, self.rtol, self.solver, self.pulse_model,
                            run.pool_pbar, report, run.plans)
            run.mw_now = stage.microwave
        else:
            raise TypeError(f"unknown stage type {type(stage).__name__}")
        run.t0 += stage.duration_s
        run.cost["stage_seconds"].append(time.perf_counter() - tick)

    def result(self, run):
        rec, edges = run.rec, np.asarray(self.edges, float)
        if run.t0 in rec.profile_times:
            rec.profile(run.t0, run.p)
        obs = np.concatenate(rec.obs) if rec.obs else np.zeros((0, 2))
        return ProtocolResult(
            t_s=np.concatenate(rec.t) if rec.t else np.zeros(0), visible=obs[:, 0],
            hidden=obs[:, 1], stage=np.concatenate(rec.stage) if rec.stage else np.zeros(0, int),
            profile_t_s=np.array(rec.prof_t), profile_edges_nm=edges,
            profiles=np.array(rec.prof).reshape(len(rec.prof_t), len(edges) - 1),
            p_final=run.p, cost=run.cost)


def _run_stages(protocol, run, stages, first, progress):
    start = time.perf_counter()

    def report(k, frac):
        if progress is not None:
            progress(k, len(stages), frac, time.perf_counter() - start)

    for k in range(first, len(stages)):
        report(k, 0.0)
        protocol.step(run, k, stages[k], lambda frac, k=k: report(k, frac))
        report(k, 1.0)
        yield k


def run_protocol(model, stages, calibration=None, *, bandwidth_kHz=200.0, profile_edges_nm=None,
                 profile_times_s=(), method="auto", rtol=1e-8, pulse_model="auto",
                 visible_pool="saturated", solver="auto", p0=None, progress=None):
    """Run a protocol on a model and record the observables.

    Parameters
    ----------
    model : latticedns.system.Model
        Lattice or continuum model.
    stages : sequence of stages
        Instances of :mod:`latticedns.protocol.stages` classes.
    calibration : MicrowaveCalibration, optional
        Microwave power -> electron condition (defaults).
    bandwidth_kHz : float
        Bandwidth splitting visible from hidden in the timed stages' observables.
    profile_edges_nm : array_like, optional
        Shell edges in nm of the radial profiles (default 0.3-3 nm in 0.1 nm steps).
    profile_times_s : sequence of float
        Times (s from the start) at which radial profiles are recorded.
    method : {"auto", "krylov", "dense"}
        Propagation method ("auto": :func:`latticedns.propagation.propagator.auto_method`).
    rtol : float
        Relative accuracy of the propagation.
    pulse_model : {"auto", "discrete", "continuous"}
        Treatment of small-angle pulses (module docstring).
    visible_pool : {"saturated", "shift"}
        Which Pbar decides visibility after a selective saturation (module docstring).
    solver : {"auto", "pardiso", "dense", "splu", "amg"}
        Linear solver of the Krylov method (`latticedns.propagation.solvers`); the ones
        that ran are listed in ``result.cost["solver"]``.
    p0 : ndarray, optional
        Initial state (default: thermal proton polarization everywhere).
    progress : callable, optional
        Called as ``progress(stage_index, n_stages, fraction_done, elapsed_s)``.

    Returns
    -------
    ProtocolResult
    """
    protocol = _Protocol(model, calibration, bandwidth_kHz=bandwidth_kHz,
                         profile_edges_nm=profile_edges_nm, profile_times_s=profile_times_s,
                         method=method, rtol=rtol, pulse_model=pulse_model,
                         visible_pool=visible_pool, solver=solver)
    stages = list(stages)
    run = protocol.start(stages, p0)
    for _ in _run_stages(protocol, run, stages, 0, progress):
        pass
    return protocol.result(run)


def _count(cost, res):
    cost["n_factorizations"] += res.n_factorizations
    cost["n_solves"] += res.n_solves
    if res.solver and res.solver not in cost["solver"].split(","):
        cost["solver"] = ",".join(filter(None, [cost["solver"], res.solver]))


def _detect(stage, model, cal, p, t0, k, rec, caches, cost, method, rtol, solver, pulse_model,
            pool_pbar, report, plans):
    cond = cal.condition(stage.microwave)
    obs_pbar = cond.pbar if pool_pbar is None else pool_pbar
    weights = model.observable_weights(obs_pbar, stage.bandwidth_kHz)
    mask = model.saturation_mask(obs_pbar, stage.bandwidth_kHz)
    cos = np.cos(np.deg2rad(stage.flip_angle_deg))
    n, dt = stage.n_pulses, stage.interval_s
    times = dt * np.arange(n)
    prof_at = rec.due(t0, t0 + stage.duration_s) - t0
    if pulse_model == "continuous" and cos > 0:
        rate = -np.log(cos) / dt
        prop = _propagator(*caches, model, cond, method, rtol, solver, loss=(mask, rate),
                           plans=plans)
        # the recorded signal precedes each pulse: state after j pulses = continuous loss over j dt
        res = prop.sample(p, times, weights, t_end=stage.duration_s,
                          states_at=prof_at if len(prof_at) else None)
        _count(cost, res)
        for tp, state in zip(prof_at, res.states if len(prof_at) else []):
            rec.profile(t0 + tp, state)
        rec.add(t0 + times, res.signals, k)
        return res.p_final
    prop = _propagator(*caches, model, cond, method, rtol, solver, plans=plans)
    signals = np.empty((n, weights.shape[0]))
    pending = list(prof_at)
    for j in range(n):
        while pending and pending[0] <= times[j]:  # at a pulse: the state before it
            rec.profile(t0 + pending.pop(0), p)
        signals[j] = weights @ p
        p = np.where(mask, p * cos, p)
        while pending and pending[0] < times[j] + dt:  # between pulses: advanced to it
            tp = pending.pop(0)
            rec.profile(t0 + tp, prop.advance(p, tp - times[j]))
        p = prop.advance(p, dt)
        if j % 64 == 0:
            report(j / n)
    for tp in pending:  # the stage's end (the protocol's last instant)
        rec.profile(t0 + tp, p)
    rec.add(t0 + times, signals, k)
    return p
