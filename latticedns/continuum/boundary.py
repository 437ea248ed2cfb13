"""The visible/hidden boundary radius of the continuum model.

On the lattice a proton at ``(r, theta)`` from a radical is hidden when its first-order
shift lies outside the saturation band,
``d_eH(r) |3 cos^2 theta - 1| |Pbar| / 2 > pi 1e3 bandwidth_kHz`` (rad/s), i.e. when

    r^3 < K |3 cos^2 theta - 1|,   K = d_eH(1 nm) |Pbar| / (2 pi 1e3 bandwidth_kHz)  (nm^3)

The continuum hides the whole shell ``r_in <= r < r_b``.  The *equal-volume* radius makes
that shell as large as the angle-dependent hidden region inside the sphere
``r_in <= r <= r_out``:

    (4 pi / 3)(r_b^3 - r_in^3) = int dOmega / 3 [clip(K f, r_in^3, r_out^3) - r_in^3]
    r_b^3 = < clip(K f(theta), r_in^3, r_out^3) >,   f = |3 cos^2 theta - 1|

(``<>`` the isotropic average).  Without the clipping this is ``K <f>``, the mean-absolute
factor ``4 / (3 sqrt 3)`` of :data:`latticedns.couplings.AVERAGINGS`; the clipping at
``r_in`` adds ``K <(r_in^3 / K - f)_+>`` because orientations near the magic angle hide no
proton at all (``~ r_in^6 / (2 sqrt 3 K)``: +0.17 % of r_b^3 at the thermal Pbar and
200 kHz).  ``docs/theory.md``, section "Continuum model".

Examples
--------
>>> from latticedns.continuum.boundary import boundary_radius_nm, hidden_volume_scale_nm3
>>> round(hidden_volume_scale_nm3(0.99926, 200.0), 4)
0.395
>>> round(boundary_radius_nm(0.99926, 200.0, "equal_volume", 0.3, 1.994), 4)
0.6729
>>> round(boundary_radius_nm(0.99926, 200.0, "mean_abs", 0.3, 1.994), 4)
0.6725
"""

import numpy as np

from ..constants import GAMMA_E, GAMMA_H, dipolar_constant
from ..couplings import AVERAGINGS, orientation_factor

__all__ = ["BOUNDARY_AVERAGINGS", "hidden_volume_scale_nm3", "mean_excess",
           "equal_volume_radius_nm", "boundary_radius_nm"]

#: Conventions for the visible/hidden boundary radius: ``"equal_volume"`` (exact
#: hidden volume of the lattice's per-proton criterion, default) or any orientation
#: factor of :data:`latticedns.couplings.AVERAGINGS` (``r_b^3 = factor * K``).
BOUNDARY_AVERAGINGS = ("equal_volume",) + tuple(AVERAGINGS)

_C = 2.0 / (3.0 * np.sqrt(3.0))


def hidden_volume_scale_nm3(pbar, bandwidth_kHz):
    """``K`` in nm^3: a proton is hidden when ``r^3 < K |3 cos^2 theta - 1|``.

    ``K = d_eH(1 nm) |pbar| / (2 pi 1e3 bandwidth_kHz)``, from the lattice criterion
    ``|A_z| |pbar| / 2 > 2 pi 1e3 bandwidth_kHz / 2`` (0.3950 nm^3 at 0.99926, 200 kHz).
    """
    d1 = float(dipolar_constant(GAMMA_E, GAMMA_H, 1.0))
    return d1 * abs(float(pbar)) / (2.0 * np.pi * 1e3 * float(bandwidth_kHz))


def mean_excess(y):
    """Isotropic average ``<(|3 cos^2 theta - 1| - y)_+>`` for ``y >= 0`` (closed form).

    With ``c = cos theta`` uniform on [0, 1]: the branch ``c < 1/sqrt 3`` (f = 1 - 3c^2)
    contributes ``(2 / (3 sqrt 3)) (1 - y)^(3/2)`` for ``y < 1``, the branch
    ``c > 1/sqrt 3`` (f = 3c^2 - 1) ``2 ((1 + y)/3)^(3/2) - y`` for ``y < 2``.
    ``mean_excess(0) = 4 / (3 sqrt 3)``, the ``mean_abs`` factor.
    """
    y = np.asarray(y, dtype=float)
    low = _C * np.clip(1.0 - y, 0.0, None) ** 1.5
    high = np.where(y < 2.0, 2.0 * (np.clip(1.0 + y, 0.0, 3.0) / 3.0) ** 1.5 - y, 0.0)
    return low + high


def equal_volume_radius_nm(k_nm3, r_in_nm, r_out_nm):
    """``r_b`` with ``r_b^3 = <clip(K |3c^2 - 1|, r_in^3, r_out^3)>`` (nm).

    The shell ``[r_in, r_b]`` then has the volume of the angle-dependent hidden region
    ``{r_in <= r <= r_out, r^3 < K |3 cos^2 theta - 1|}``.  ``r_in`` when K = 0.
    """
    lo, hi = float(r_in_nm) ** 3, float(r_out_nm) ** 3
    k = float(k_nm3)
    if k <= 0:
        return float(r_in_nm)
    # <clip(k f, lo, hi)> = lo + k <(f - lo/k)_+> - k <(f - hi/k)_+>
    rb3 = lo + k * (float(mean_excess(lo / k)) - float(mean_excess(hi / k)))
    return float(np.clip(np.cbrt(rb3), r_in_nm, r_out_nm))


def boundary_radius_nm(pbar, bandwidth_kHz, averaging, r_in_nm, r_out_nm):
    """Visible/hidden boundary radius in nm for a convention of :data:`BOUNDARY_AVERAGINGS`.

    ``"equal_volume"``: :func:`equal_volume_radius_nm` (``r_in`` at ``pbar = 0``, an
    empty hidden shell).  A named orientation factor: ``r_b = (factor K)^(1/3)``, where
    the averaged shift ``|A_z| |pbar| / 2`` equals the band's half-width (0 at
    ``pbar = 0``), not clipped to the sphere.
    """
    k = hidden_volume_scale_nm3(pbar, bandwidth_kHz)
    if averaging == "equal_volume":
        return equal_volume_radius_nm(k, r_in_nm, r_out_nm)
    return float(np.cbrt(orientation_factor(averaging) * k))
