"""What a worker does with one campaign task: resolve, simulate, return (never write)."""

import time
import traceback
from dataclasses import dataclass, replace

from ..errors import ConfigError
from ..experiment import execute_run, parse_run_document

__all__ = ["TaskOutcome", "execute_task"]


@dataclass(frozen=True)
class TaskOutcome:
    """The result of one task, sent back to the coordinator.

    Attributes
    ----------
    run_id : str
    record : latticedns.store.RunRecord or None
        None when the run failed.
    error : str
        Empty when done; else one line (``"key: message"`` for a ConfigError).
    wall_s : float
        Seconds spent in the worker (resolution and simulation).
    """

    run_id: str
    record: object
    error: str
    wall_s: float


def _identity(task):
    """What names a run within its campaign (stored in its parameters)."""
    return {"run_id": task.run_id, "variant": task.variant, "point": task.point,
            "seed_index": task.seed_index, "values": dict(task.values),
            "fingerprint": task.fingerprint}


def execute_task(task):
    """Resolve and simulate one :class:`~latticedns.campaign.spec.CampaignTask`.

    Every exception is caught and returned as the outcome's error, so that one bad sweep
    point never stops the others.  The record is named after ``task.run_id``, and its
    parameters carry the run's place in the campaign under the key ``campaign``
    (``run_id``, ``variant``, ``point``, ``seed_index``, ``values``: the swept values,
    ``fingerprint``), so that the stored run names itself.

    Parameters
    ----------
    task : CampaignTask

    Returns
    -------
    TaskOutcome
    """
    tick = time.perf_counter()
    try:
        specs = {s.name: s for s in parse_run_document(task.document, task.base_dir)}
        record = execute_run(specs[task.variant])
        record = replace(record, name=task.run_id,
                         parameters={**record.parameters, "campaign": _identity(task)})
        return TaskOutcome(task.run_id, record, "", time.perf_counter() - tick)
    except ConfigError as exc:
        error = str(exc)
    except Exception as exc:  # noqa: BLE001 - recorded, the campaign goes on
        last = traceback.format_exception_only(type(exc), exc)[-1].strip()
        error = last.replace("\n", " ")
    return TaskOutcome(task.run_id, None, error, time.perf_counter() - tick)
