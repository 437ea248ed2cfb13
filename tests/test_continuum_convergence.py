"""The continuum's default mesh is converged on the bundled runs (issue 16).

Every bundled HypRes run file, switched to the continuum and shortened (64 detection
records), with the default physics and with the paper's (Lorentzian line, constant tau_c):
every record's visible and hidden means agree with a 4x refined mesh to 1e-4 of the
observable's largest magnitude in the detection stage.  The propagation runs at rtol
1e-10 so that only the mesh differs.
"""

import os

import numpy as np
import pytest

from latticedns.cli import main
from latticedns.experiment import execute_runs
from latticedns.experiment.config import parse_run_document
from latticedns.continuum import ContinuumModel, ContinuumParameters
from latticedns.errors import ConfigError
from latticedns.tomlfile import read_toml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RUNS = os.path.join(ROOT, "runs")
PAPER = {"lineshape": "lorentzian"}


def _specs(name, refinement, physics, rtol=1e-10, only=None):
    doc, _ = read_toml(os.path.join(RUNS, name), "run file")
    doc["run"].update(model="continuum", rtol=rtol, profile_times_s=[650.0])
    doc.setdefault("physics", {}).update(mesh_refinement=refinement, **physics)
    if physics:
        doc.setdefault("microwave", {})["tau_c_model"] = "constant"
    for stage in doc["stage"]:
        if stage["type"] == "detect":
            stage["n_pulses"] = 64
    if only is not None:
        doc["variant"] = [v for v in doc["variant"] if v["name"] in only]
    return parse_run_document(doc, RUNS)


def _results(name, refinement, physics, only=None):
    specs = _specs(name, refinement, physics, only=only)
    return {rec.name: rec.result for _, rec in execute_runs(specs)}


@pytest.mark.parametrize("physics", [{}, PAPER], ids=["default", "paper"])
@pytest.mark.parametrize("name, only", [("hypres-mw-off.toml", None),
                                        ("hypres-mw-on.toml", ("0 mW", "118 mW"))])
def test_default_mesh_agrees_with_a_4x_refined_mesh(name, only, physics):
    base = _results(name, 1.0, physics, only)
    fine = _results(name, 4.0, physics, only)
    for run, r in base.items():
        f = fine[run]
        det = f.stage == f.stage.max()
        for key in ("visible", "hidden"):
            a, b = getattr(r, key), getattr(f, key)
            err = np.abs(a - b).max() / np.abs(b[det]).max()
            assert err <= 1e-4, (run, key, err)


def test_selective_saturation_is_conservative_on_every_mesh():
    """The visible mean becomes residual x its value and the hidden mean is unchanged,
    exactly, whatever the mesh; the state differs from the step at r_b only in the element
    next to it, so refining converges to one model."""
    for refinement in (0.5, 1.0, 3.0):
        for element in ("P1", "P2"):
            model = ContinuumModel(ContinuumParameters(mesh_refinement=refinement,
                                                       element=element))
            pbar = model.params.electron_thermal
            p = 0.6 + 0.1 * np.cos(4.0 * model.nodes_nm)
            w = model.observable_weights(pbar)
            for residual in (0.0, 0.25):
                q = model.saturate(p, pbar, 200.0, residual)
                assert w[0] @ q == pytest.approx(residual * (w[0] @ p), rel=1e-12, abs=1e-15)
                assert w[1] @ q == pytest.approx(w[1] @ p, rel=1e-13)
                plain = np.where(model.saturation_mask(pbar), p * residual, p)
                changed = np.flatnonzero(q != plain)
                rb = model.visible_radius_nm(pbar)
                h = model.params.h_boundary_nm / refinement
                assert np.all(np.abs(model.nodes_nm[changed] - rb) <= 1.5 * h)


def test_mesh_check_estimates_the_mesh_error(tmp_path, capsys):
    """``run.mesh_check`` stores the estimated mesh error of each run (a twice finer mesh)
    and warns where it exceeds run.rtol; it is refused for lattice runs."""
    specs = _specs("hypres-mw-off.toml", 1.0, {}, rtol=1e-12, only=None)
    specs = [s.__class__(**{**s.__dict__, "run": {**s.run, "mesh_check": True}}) for s in specs]
    records = [rec for _, rec in execute_runs(specs)]
    for rec in records:
        est = rec.result.cost["mesh_error"]
        assert 0 < est["visible"] < 1e-3 and 0 < est["hidden"] < 1e-4
    assert "estimated mesh error" in capsys.readouterr().err  # 1e-12 is tighter than the mesh
    doc, _ = read_toml(os.path.join(RUNS, "hypres-mw-off.toml"), "run file")
    doc["run"]["mesh_check"] = True
    with pytest.raises(ConfigError, match="run.mesh_check"):
        parse_run_document(doc, RUNS)
    doc["run"].update(model="continuum", mesh_check="yes")
    with pytest.raises(ConfigError, match="run.mesh_check"):
        parse_run_document(doc, RUNS)


def test_removed_mesh_keys_name_their_replacement(tmp_path, capsys):
    src = open(os.path.join(RUNS, "hypres-mw-off.toml")).read().replace(
        'model = "lattice"', 'model = "continuum"').replace(
        "[physics]", "[physics]\nn_elements = 48").replace('"../geometries', f'"{ROOT}/geometries')
    path = tmp_path / "old.toml"
    path.write_text(src)
    out = tmp_path / "old.h5"
    assert main(["run", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "physics.n_elements" in err and "mesh_refinement" in err and not out.exists()
