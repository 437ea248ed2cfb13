"""Fig. 3 of Chessari et al. (2023): D(r) for several electron polarizations, and the limits."""

import numpy as np

from ..diffusion import (
    DiffusionConditions,
    diffusion_coefficient,
    hidden_radius_nm,
    mean_volume_radius_nm,
    validity_radius_nm,
)

__all__ = ["plot_fig3a", "plot_fig3b", "on_off_ratio", "PAPER_READING"]


def _new_axes(ax):
    if ax is not None:
        return ax.figure, ax
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.0, 4.5), layout="constrained")
    return fig, ax


def _decorate(ax, c, r):
    r_mv = mean_volume_radius_nm(c.radical_mM)
    r_h = hidden_radius_nm(c.hidden_coupling_kHz, c.averaging)
    r_bad = validity_radius_nm(c.gamma_c, c.averaging, c.splitting_factor)
    factor = "" if c.splitting_factor == 1 else f"{c.splitting_factor:g}"
    ax.axvspan(r[0], r_bad, color="0.85", zorder=0, label=rf"$\Gamma_c < {factor}|A_z|$")
    ax.axvline(r_mv, color="k", lw=1.2, label=rf"$r_{{MV}}$ = {r_mv:.2f} nm")
    ax.axvline(r_h, color="0.5", lw=1.2, label=rf"$r_h$ = {r_h:.2f} nm")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(r[0], r[-1])
    from matplotlib.ticker import FixedLocator, NullFormatter, ScalarFormatter

    ticks = [t for t in (0.3, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0) if r[0] <= t <= r[-1]]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(ScalarFormatter())
    ax.xaxis.set_minor_formatter(NullFormatter())
    ax.set_xlabel("distance to the electron r (nm)")
    ax.set_ylabel(r"spin diffusion coefficient D (nm$^2$ s$^{-1}$)")
    return r_h


#: The paper's readings of the Fig. 3 conventions (the ``paper`` preset): the full splitting
#: Delta = A_i - A_j and Gamma_2^(II) = 2.2e4 s^-1 (``docs/theory.md`` section 5).
PAPER_READING = {"splitting_factor": 1.0, "gamma2_II_kHz": 22.0 / (2.0 * np.pi)}


def on_off_ratio(conditions):
    """D(r_h, Pbar = 0.5) / D(r_h, P_B): the microwave on/off contrast at r_h, and r_h (nm)."""
    c = conditions
    r_h = hidden_radius_nm(c.hidden_coupling_kHz, c.averaging)
    on, off = diffusion_coefficient(r_h, [0.5, c.electron_boltzmann], c)
    return float(on / off), float(r_h), float(on), float(off)


def plot_fig3a(conditions=None, r_nm=None, pbars=None, ax=None):
    """D(r) on log axes for Pbar = 0, 0.1, ..., 1 (Eq. 9), with r_MV, r_h and the invalid region.

    The microwave on/off contrast at r_h (Pbar = 0.5 against Boltzmann) is marked for the
    drawn conditions and, when they are not the paper's readings (:data:`PAPER_READING`),
    also under those readings, labelled with the paper's headline ~17x.

    Parameters
    ----------
    conditions : DiffusionConditions, optional
        Fig. 3 conditions by default.
    r_nm : array_like, optional
        Distances in nm (default 0.25-4 nm, log spaced).
    pbars : array_like, optional
        Electron polarizations (default 0 to 1 in steps of 0.1).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    c = conditions or DiffusionConditions()
    r = np.geomspace(0.25, 4.0, 400) if r_nm is None else np.asarray(r_nm, float)
    pbars = np.linspace(0.0, 1.0, 11) if pbars is None else np.asarray(pbars, float)
    fig, ax = _new_axes(ax)
    import matplotlib as mpl

    cmap = mpl.colormaps["viridis"]
    for p in pbars:
        ax.plot(r, diffusion_coefficient(r, p, c), color=cmap(p), lw=1.3)
    _decorate(ax, c, r)
    ratio, r_h, on, off = on_off_ratio(c)
    paper = all(np.isclose(getattr(c, k), v, rtol=1e-3) for k, v in PAPER_READING.items())
    ax.plot([r_h, r_h], [on, off], "o", mfc="none", mec="C3", ms=8)
    ax.annotate("", xy=(r_h, on), xytext=(r_h, off),
                arrowprops=dict(arrowstyle="->", color="C3"))
    ax.text(r_h * 0.95, np.sqrt(on * off),
            f"x{ratio:.1f}" + (": the paper's reading\n(paper ~17x)" if paper
                               else ": this reading"), color="C3", fontsize=8, ha="right",
            bbox=dict(fc="white", ec="none", alpha=0.8, pad=1))
    if not paper:  # beside it, the paper's headline contrast under the paper's readings
        from dataclasses import replace

        p_ratio, p_rh, p_on, p_off = on_off_ratio(replace(c, **PAPER_READING))
        x = p_rh * 1.25
        ax.plot([x, x], [p_on, p_off], "s", mfc="none", mec="C1", ms=7)
        ax.annotate("", xy=(x, p_on), xytext=(x, p_off),
                    arrowprops=dict(arrowstyle="->", color="C1", ls="--"))
        ax.text(x * 1.05, np.sqrt(p_on * p_off) / 3,
                f"x{p_ratio:.1f}: the paper's reading\n"
                rf"($\Delta = A_i - A_j$, $\Gamma_2^{{(II)}}$ = 2.2e4 s$^{{-1}}$; paper ~17x)",
                color="C1", fontsize=7, bbox=dict(fc="white", ec="none", alpha=0.8, pad=1))
    sm = mpl.cm.ScalarMappable(norm=mpl.colors.Normalize(0, 1), cmap=cmap)
    fig.colorbar(sm, ax=ax, label=r"electron polarization $\bar P$")
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(rf"D = W a$^2$, a = {c.a_nm} nm, $\tau_c$ = {c.tau_c_us} $\mu$s, "
                 rf"$\Gamma_2^{{(II)}}/2\pi$ = {c.gamma2_II_kHz:.4g} kHz", fontsize=9)
    return fig


def plot_fig3b(conditions=None, pbar=0.7, r_nm=None, ax=None):
    """D(r) from the exact rate (Eq. 9) and its slow (Eq. 10) and fast (Eq. 11) limits.

    Parameters
    ----------
    conditions : DiffusionConditions, optional
    pbar : float
        Electron polarization (0.7 as in the paper).
    r_nm : array_like, optional
        Distances in nm.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.figure.Figure
    """
    c = conditions or DiffusionConditions()
    r = np.geomspace(0.25, 4.0, 400) if r_nm is None else np.asarray(r_nm, float)
    fig, ax = _new_axes(ax)
    styles = {"exact": ("k", "-", "exact, Eq. 9"), "slow": ("C0", "--", "slow motion, Eq. 10"),
              "fast": ("C3", ":", "fast motion, Eq. 11")}
    for limit, (color, ls, label) in styles.items():
        ax.plot(r, diffusion_coefficient(r, pbar, c, limit=limit), color=color, ls=ls, lw=1.6,
                label=label)
    _decorate(ax, c, r)
    ax.legend(loc="lower right", fontsize=8)
    ax.set_title(rf"$\bar P$ = {pbar}", fontsize=9)
    return fig
