"""Several protocols on one model, each shared leading run of stages computed once.

A power series (one preparation, then a detection at each power) or a pair of preparations
with a common saturation spends most of its time in stages that every run repeats.
:func:`iter_protocols` keeps the state reached at the end of every stage prefix (not of a
complete protocol) and continues each protocol from its longest prefix already computed.
"""

from .runner import _Protocol, _run_stages

__all__ = ["iter_protocols"]


def iter_protocols(model, stage_lists, calibration=None, *, progress=None, **options):
    """Run several protocols on one model, computing each shared leading run of stages once.

    Protocols that begin with the same stages (e.g. a power series: one preparation, then
    detections at several powers) continue from the state saved after their longest common
    prefix instead of recomputing it; each result is the one :func:`run_protocol` gives,
    bit for bit (tested).  A prefix is shared only between protocols that announce the same
    stages on its operators (`_Protocol.plans`: the Krylov shifts are chosen for them).  Its cost counters and stage times include those of the shared
    stages, which were computed once.

    Parameters
    ----------
    model : latticedns.system.Model
    stage_lists : sequence of sequences of stages
    calibration : MicrowaveCalibration, optional
    progress : callable, optional
        ``progress(list_index, stage_index, n_stages, fraction_done, elapsed_s)``.
    **options
        The keyword arguments of :func:`run_protocol` (not ``p0``).

    Yields
    ------
    ProtocolResult
        One per stage list, in order.
    """
    protocol = _Protocol(model, calibration, **options)
    saved = {}  # (stage prefix, plans of its operators) -> the run state at its end
    for i, stages in enumerate(stage_lists):
        stages = tuple(stages)
        plans = protocol.plans(stages)

        def key(k):
            # a prefix is shared only by runs that plan the same stages on its operators, so
            # that each run's solver choices are the ones it makes alone (bit-identity)
            used = protocol.plans(stages[:k])
            return stages[:k], tuple((op, plans[op]) for op in used)

        first = max(k for k in range(len(stages) + 1) if k == 0 or key(k) in saved)
        run = saved[key(first)].fork() if first else protocol.start(stages)
        run.plans = plans
        report = None if progress is None else (lambda *a, i=i: progress(i, *a))
        for k in _run_stages(protocol, run, stages, first, report):
            if k + 1 < len(stages):  # a complete protocol's state is not a prefix to keep
                saved.setdefault(key(k + 1), run.fork())
        yield protocol.result(run)
