"""What the figures read from a run's record: stages, their start times, the conditions
of the caption, the thermal polarization.

The functions take a :class:`latticedns.store.RunRecord` (:func:`thermal_polarization`
its ``parameters`` dict), prefer its stored stage table (``RunRecord.stages``) and fall
back on the parameters (nested as in the result file), tolerating missing keys: a figure
of an older or a hand-made record loses a caption item, it does not fail.
"""

import numpy as np

from ..errors import ConfigError

__all__ = ["DEFAULT_THERMAL", "INSTANT_STAGES", "thermal_polarization", "stage_table",
           "stage_listing", "find_stage", "stage_start_s", "stage_label", "stage_at",
           "conditions", "caption", "warning_lines"]

#: Thermal proton polarization used when a run's parameters do not give it (7.05 T, 1.2 K).
DEFAULT_THERMAL = 0.0060
_THERMAL_KEYS = ("proton_thermal", "proton_thermal_polarization", "thermal_proton_polarization")
#: Stage types that take no time and record no point.
INSTANT_STAGES = ("saturate", "selective_saturate")


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool) and np.isfinite(v)


def _leaves(d, out=None):
    out = {} if out is None else out
    for k, v in d.items():
        if isinstance(v, dict):
            _leaves(v, out)
        else:
            out.setdefault(k, v)
    return out


def thermal_polarization(parameters):
    """Thermal proton polarization (fraction) of a run from its parameters.

    Looks, at any nesting depth, for ``proton_thermal`` (or ``proton_thermal_polarization``,
    ``thermal_proton_polarization``), else computes it from ``b0_T`` and ``temperature_K``,
    else returns :data:`DEFAULT_THERMAL` (0.60 %).

    Parameters
    ----------
    parameters : dict

    Returns
    -------
    float
    """
    leaves = _leaves(parameters or {})
    for key in _THERMAL_KEYS:
        if _number(leaves.get(key)):
            return float(leaves[key])
    b0, temp = leaves.get("b0_T"), leaves.get("temperature_K")
    if _number(b0) and _number(temp) and b0 > 0 and temp > 0:
        from ..constants import GAMMA_H, boltzmann_polarization

        return float(boltzmann_polarization(GAMMA_H, b0, temp))
    return DEFAULT_THERMAL


def _stored(record):
    """The record's stored stage table (``RunRecord.stages``) if it has one, else None."""
    stages = getattr(record, "stages", None)
    return stages if stages is not None and len(getattr(stages, "name", ())) else None


def _stage_dicts(record):
    stages = (record.parameters or {}).get("stage")
    return [st if isinstance(st, dict) else {} for st in stages] \
        if isinstance(stages, list) else []


def stage_table(record):
    """``(name, type)`` of every stage of a run, in protocol order.

    From the record's stored stage table (``RunRecord.stages``) when it has one, else
    from its parameters: the stage's ``name`` if recorded, else its index as a string
    (the default name of a stage in a run file).

    Parameters
    ----------
    record : RunRecord

    Returns
    -------
    list of (str, str)
        The type is ``"?"`` when not recorded.
    """
    stored = _stored(record)
    if stored is not None:
        return [(str(n), str(t)) for n, t in zip(stored.name, stored.type)]
    out = []
    for k, st in enumerate(_stage_dicts(record)):
        name = st.get("name")
        out.append((name if isinstance(name, str) and name else f"{k}",
                    str(st.get("type", "?"))))
    return out


def _recorded(record):
    return {int(k) for k in np.unique(np.asarray(record.result.stage))}


def stage_listing(record):
    """The stages as one line for messages: ``"0 (saturate, no points), prepare (microwave)"``
    (stages without recorded points are marked so)."""
    recorded = _recorded(record)
    return ", ".join(f"{name} ({kind}{'' if k in recorded else ', no points'})"
                     for k, (name, kind) in enumerate(stage_table(record)))


def find_stage(record, name):
    """Index of the stage called ``name``: its name, else its index, else its type if unique.

    Parameters
    ----------
    record : RunRecord
    name : str

    Returns
    -------
    int

    Raises
    ------
    ConfigError
        (key ``"stage"``) no such stage (the message lists the stages), or a stage without
        recorded points.
    """
    table = stage_table(record)
    recorded = _recorded(record)
    if not table:  # no stage list stored: indices only
        table = [(f"{k}", "?") for k in range(max(recorded, default=-1) + 1)]
    names = [n for n, _ in table]
    kinds = [t for _, t in table]
    listing = stage_listing(record) or ", ".join(names)
    if name in names:
        index = names.index(name)
    elif name.isdigit() and int(name) < len(table):
        index = int(name)
    elif kinds.count(name) == 1:
        index = kinds.index(name)
    else:
        raise ConfigError("stage", f"no stage {name!r} in run {record.name!r}; stages: "
                                   f"{listing}")
    if index not in recorded:
        raise ConfigError("stage", f"stage {name!r} of run {record.name!r} has no recorded "
                                   f"points (a {kinds[index]} stage records none); stages: "
                                   f"{listing}")
    return index


def _duration_s(stage):
    kind = stage.get("type")
    if kind in INSTANT_STAGES:
        return 0.0
    if kind == "detect" and _number(stage.get("n_pulses")) and _number(stage.get("interval_s")):
        return stage["n_pulses"] * stage["interval_s"]
    d = stage.get("duration_s")
    return float(d) if _number(d) else None


def _clock(record):
    """(start_s, duration_s) of every stage, or None when a duration is unknown."""
    stored = _stored(record)
    if stored is not None:
        return [(float(a), float(d)) for a, d in zip(stored.t_start_s, stored.duration_s)]
    out, t = [], 0.0
    for st in _stage_dicts(record):
        d = _duration_s(st)
        if d is None:
            return None
        out.append((t, d))
        t += d  # in order, as the protocol's clock
    return out


def stage_start_s(record, index):
    """Start of stage ``index`` in s from the start of the protocol (None if unknown).

    The stored ``t_start_s`` of the stage table, else the sum of the durations of the
    stages before it in the parameters; None when one is not recorded.
    """
    clock = _clock(record)
    return clock[index][0] if clock is not None and index < len(clock) else None


def stage_label(record, index):
    """How figures name stage ``index``: ``"'prepare' (microwave)"``, or ``"1 (microwave)"``
    when the stage has no name of its own."""
    table = stage_table(record)
    if index >= len(table):
        return f"{index}"
    name, kind = table[index]
    return f"{name if name == f'{index}' else repr(name)} ({kind})"


def stage_at(record, t_s):
    """``(name, start_s)`` of the stage running at time ``t_s`` (None if unknown).

    The name is the stage's own, else its type.  A time on a boundary belongs to the
    stage that starts there (after the instantaneous stages at that time); a time at or
    after the end, to the last stage.
    """
    clock, table = _clock(record), stage_table(record)
    if not clock or len(clock) != len(table):
        return None
    names = [kind if name == f"{k}" else name for k, (name, kind) in enumerate(table)]
    best, tol = None, 1e-9 * max(1.0, abs(t_s))
    for name, (start, d) in zip(names, clock):
        if start > t_s + tol:
            break
        if t_s < start + d or abs(t_s - start) <= tol:
            best = (name, start)
    return best or (names[-1], clock[-1][0])


#: Caption items: (label, where in the parameters, format).
_CONDITIONS = (
    ("B0", (("physics", "b0_T"),), "B0 = {:g} T"),
    ("T", (("physics", "temperature_K"),), "T = {:g} K"),
    ("radical", (("physics", "radical_mM"), ("sample", "radical_mM")), "{:g} mM radical"),
)


def _get(parameters, path):
    d = parameters
    for key in path:
        if not isinstance(d, dict) or key not in d:
            return None
        d = d[key]
    return d


def conditions(record):
    """The conditions of a run as caption items, in order.

    B0 (T), temperature (K), radical concentration (mM; the continuum's own
    ``physics.radical_mM`` if stored, else the sample's), the model and the physics
    preset (``physics.preset``, else a top-level ``preset``; "default" when the
    parameters have neither).

    Parameters
    ----------
    record : RunRecord

    Returns
    -------
    list of (str, str)
        ``(label, text)``, e.g. ``("B0", "B0 = 7.05 T")``; an item whose value is not
        stored is left out.
    """
    params = record.parameters or {}
    out = []
    for label, paths, fmt in _CONDITIONS:
        value = next((v for v in (_get(params, p) for p in paths) if v is not None), None)
        if _number(value):
            out.append((label, fmt.format(value)))
    out.append(("model", f"{record.model} model"))
    preset = _get(params, ("physics", "preset")) or params.get("preset")
    preset = preset if isinstance(preset, str) and preset else "default"
    out.append(("preset", f"physics preset: {preset}"))
    return out


def caption(records):
    """A caption of the conditions shared by ``records``, and each run's own ones.

    Parameters
    ----------
    records : sequence of RunRecord

    Returns
    -------
    common : str
        The items equal in every run, joined by ", ".
    own : list of str
        Per run, the items that differ between runs (empty strings if none).
    """
    items = [dict(conditions(rec)) for rec in records]
    labels = list(dict.fromkeys(k for it in items for k in it))
    shared = [k for k in labels if len({it.get(k) for it in items}) == 1]
    common = ", ".join(items[0][k] for k in shared if k in items[0])
    own = [", ".join(it[k] for k in labels if k not in shared and k in it) for it in items]
    return common, own


def warning_lines(records, limit=3, width=130):
    """The validity warnings recorded in ``records`` (``RunRecord.warnings``) as footer
    text: each distinct warning once, prefixed "warning:", wrapped at ``width``
    characters; at most ``limit`` of them, then how many more.  "" if there are none."""
    import textwrap

    seen = list(dict.fromkeys(w for rec in records for w in getattr(rec, "warnings", ()) or ()))
    lines = ["\n".join(textwrap.wrap(f"warning: {w}", width)) for w in seen[:limit]]
    if len(seen) > limit:
        lines.append(f"... and {len(seen) - limit} more warning(s) in the result file")
    return "\n".join(lines)
