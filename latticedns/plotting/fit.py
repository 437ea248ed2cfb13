"""A fit's figure: data and best fit, residuals, and the parameters' profiles.

Takes the dict of :func:`latticedns.fit.output.read_fit`; this module does not touch files.
"""

import numpy as np

__all__ = ["plot_fit"]


def plot_fit(fit):
    """Data (points), best fit (line) and residuals (units of sigma) of every curve, one
    column each; below, the profile (Delta chi^2 / s^2 against the parameter, with the 95 %
    line at 3.84) of every parameter that has one.  Returns the matplotlib figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves, profiles = fit["curves"], fit["profiles"]
    ncol = max(len(curves), len(profiles), 1)
    nrow = 2 + (1 if profiles else 0)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 2.6 * nrow), squeeze=False,
                             gridspec_kw={"height_ratios": [2, 1] + ([1.6] if profiles else [])})
    for k, c in enumerate(curves):
        top, bottom = axes[0, k], axes[1, k]
        t = c["t_s"] / (60.0 if c["t_s"].max() > 600 else 1.0)
        unit = "min" if c["t_s"].max() > 600 else "s"
        top.errorbar(t, 100 * c["data"], yerr=100 * c["sigma"], fmt=".", ms=3, lw=0.5,
                     color="0.35", label="data")
        top.plot(t, 100 * c["model"], color="C3", label="fit")
        top.set_title(c["label"], fontsize=9)
        top.set_ylabel("100 x signal (% polarization)")
        top.legend(fontsize=8, frameon=False)
        bottom.axhline(0.0, color="0.6", lw=0.8)
        bottom.plot(t, c["residual"], ".", ms=3, color="C0")
        bottom.set_xlabel(f"time in the stage ({unit})")
        bottom.set_ylabel("residual / sigma")
    for k in range(len(curves), ncol):
        axes[0, k].set_visible(False)
        axes[1, k].set_visible(False)
    if profiles:
        params = fit["parameters"]
        for k, (key, pts) in enumerate(profiles.items()):
            ax = axes[2, k]
            pts = np.asarray(pts)
            ax.plot(pts[:, 0], pts[:, 1], "o-", ms=3, color="C2")
            ax.axhline(3.841, color="0.5", ls="--", lw=0.8)
            p = params[key]
            ax.axvspan(p["lower95"], p["upper95"], color="C2", alpha=0.12)
            if p["scale"] == "log" and pts[:, 0].max() > 3 * pts[:, 0].min() > 0:
                ax.set_xscale("log")
            ax.set_xlabel(key)
            ax.set_ylabel("Delta chi^2 / s^2")
        for k in range(len(profiles), ncol):
            axes[2, k].set_visible(False)
    if fit["warnings"]:
        fig.suptitle("; ".join(fit["warnings"]), fontsize=7, color="C3")
    fig.tight_layout()
    return fig
