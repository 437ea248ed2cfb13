"""Print the table of docs/theory.md: D at r_h for Pbar = 0.5 and 0.9993 under several
readings of the paper's open conventions (run: python docs/scripts/fig3_conventions.py)."""

import numpy as np

from latticedns.diffusion import DiffusionConditions, diffusion_coefficient, hidden_radius_nm

P_OFF = DiffusionConditions().electron_boltzmann  # 0.99926

CASES = [
    ("default: Delta = (A1 - A2)/2, Gamma_2^(II) = 2pi x 11 kHz = 6.91e4 s^-1, rms averages", {}),
    ("Delta = A1 - A2 (paper's A_z as the full coupling), otherwise default", {"splitting_factor": 1.0}),
    ("Delta = A1 - A2, Gamma_2^(II) = 2.2e4 s^-1", {"splitting_factor": 1.0, "gamma2_II_kHz": 22 / (2 * np.pi)}),
    ("Delta = A1 - A2, Gamma_2^(II) = 1.1e4 s^-1", {"splitting_factor": 1.0, "gamma2_II_kHz": 11 / (2 * np.pi)}),
    ("Gamma_2^(II) = 1.1e4 s^-1 (11 kHz read as s^-1)", {"gamma2_II_kHz": 11 / (2 * np.pi)}),
    ("Gamma_2^(II) = 2.2e4 s^-1 (the 22 kHz FWHM read as s^-1)", {"gamma2_II_kHz": 22 / (2 * np.pi)}),
    ("Gamma_2^(II) = pi x 11 kHz (11 kHz as FWHM)", {"gamma2_II_kHz": 5.5}),
    ("default, mean-absolute angular averages", {"averaging": "mean_abs"}),
    ("default, bare dipolar constants (no angular factor)", {"averaging": "none"}),
    ("default, tau_c = 0.5 us read as 1/(2pi x 2 MHz)", {"tau_c_us": 0.5 / (2 * np.pi)}),
]


def main():
    print("| conventions | r_h (nm) | D(r_h, 0.5) (nm^2/s) | D(r_h, 0.99926) (nm^2/s) | ratio |")
    print("|---|---|---|---|---|")
    for label, changes in CASES:
        c = DiffusionConditions(**changes)
        r_h = hidden_radius_nm(c.hidden_coupling_kHz, c.averaging)
        on, off = diffusion_coefficient(r_h, [0.5, P_OFF], c)
        print(f"| {label} | {r_h:.3f} | {on:.3g} | {off:.3g} | {on / off:.1f} |")
    print("| paper (Fig. 3a, hollow circles) | 0.9 | | | ~17 |")


if __name__ == "__main__":
    main()
