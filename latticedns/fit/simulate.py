"""One simulation of a fit: the model values of every data curve for one sample seed.

Shared by the fit's own process and its seed workers (`latticedns.fit.workers`), so a
curve is computed by the same code wherever it runs.
"""

from __future__ import annotations

import numpy as np

from ..experiment import execute_runs

__all__ = ["MAX_CACHED_CONDITIONS", "curves_at"]

#: A cached model drops its operators beyond this many conditions (fits visit many).
MAX_CACHED_CONDITIONS = 32


def curves_at(spec, values, seed, models):
    """Unscaled model values of every curve of ``spec`` at its data times.

    Parameters
    ----------
    spec : latticedns.fit.FitSpec
    values : sequence of float
        The fitted parameters, physical values in their keys' units.
    seed : int or None
        ``run.seed`` of a lattice fit (None: the base run file's).
    models : dict
        The caller's model cache (`latticedns.experiment.execute_runs`), kept across calls:
        samples and physics are built once, operators of at most
        :data:`MAX_CACHED_CONDITIONS` conditions kept per model.

    Returns
    -------
    list of numpy.ndarray
        One array per ``spec.curves`` entry, the observable (fraction, not %) interpolated
        linearly at the curve's data times within its window, times counted from the
        start of its stage.
    """
    results = {rec.name: rec.result
               for _, rec in execute_runs(spec.specs(values, seed), models=models)}
    curves = []
    for c in spec.curves:
        r = results[c.variant]
        sel = r.stage == c.stage_index
        t = r.t_s[sel] - c.stage_start_s
        curves.append(np.interp(c.curve.t_s[c.mask], t, getattr(r, c.observable)[sel]))
    for model, _ in models.values():  # bounded memory over a long fit
        if model.n_cached_conditions > MAX_CACHED_CONDITIONS:
            model.forget_conditions()
    return curves
