"""Storage of simulated runs in HDF5 result files (layout: ``docs/hdf5.md``).

Imported by the command line and campaigns, never by the physics core.

Examples
--------
>>> from latticedns.store import RunRecord, write_runs, read_runs  # doctest: +SKIP
>>> write_runs("out.h5", [RunRecord("a", params, 1, "lattice", result)])  # doctest: +SKIP
>>> [r.name for r in read_runs("out.h5")]  # doctest: +SKIP
['a']
"""

from .records import MODELS, STAGE_COLUMNS, RunRecord, SamplePositions, StageTable, geometry_toml
from ._atomic import refuse_inputs
from .runfile import (FORMAT, FORMAT_VERSION, append_run, check_output_path, read_metadata,
                      read_run, read_runs, run_names, write_runs)

__all__ = [
    "RunRecord", "SamplePositions", "StageTable", "STAGE_COLUMNS", "geometry_toml", "MODELS",
    "FORMAT", "FORMAT_VERSION", "check_output_path", "refuse_inputs", "write_runs", "append_run",
    "read_runs", "read_run", "run_names", "read_metadata",
]
