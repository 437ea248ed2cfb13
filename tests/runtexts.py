"""Run-file texts shared by the CLI tests (not a test module)."""

import os

GEOM = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "geometries",
                                    "dnp-juice-50mM.toml"))

#: A HypRes run of the continuum with a 32-pulse detection: seconds per run.
SHORT_CONTINUUM_RUN = f'''
[run]
name = "t"
model = "continuum"
sample = "{GEOM}"

[[stage]]
type = "saturate"
[[stage]]
type = "microwave"
name = "prepare"
duration_s = 640.0
power_mW = 118.0
[[stage]]
type = "delay"
duration_s = 10.0
[[stage]]
type = "selective_saturate"
[[stage]]
type = "detect"
n_pulses = 32
interval_s = 10.0
flip_angle_deg = 0.1
'''
