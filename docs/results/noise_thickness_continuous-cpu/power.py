"""How many seeds per level tell a step at 2.0 from a straight fall over 1.8..2.2 (5 levels)?

A simulation: the truth a step (or a line, for the false-step rate), the seeds normal with the first
cpu run's spread (7 to 13 points), a fall of 10 points (Maj 26% at 1.8 to 16% at 2.2); the test is
the t test of the deviation from a straight line. Run from the repository root:

    .venv/bin/python docs/results/noise_thickness_continuous-cpu/power.py
"""

# Power of telling a step at 2.0 from a straight decline over 1.8..2.2 (5 levels), by simulation.
import numpy as np
from scipy import stats

rng = np.random.default_rng(0)
levels = 5
D = 0.10
line = -D * np.linspace(0, 1, levels)
step = -D * np.array([0, 0, 0.5, 1, 1])
# the deviation from a straight line: the step's part orthogonal to a constant and a linear trend
basis = np.stack([np.ones(levels), np.arange(levels) - 2.0])
c = step - line
c = c - basis.T @ np.linalg.lstsq(basis.T, c, rcond=None)[0]
for sigma in (0.07, 0.13):
    for n in (3, 10, 20, 30, 40, 60, 100, 140):
        hits = 0
        R = 2000
        truth = step
        for _ in range(R):
            x = truth + rng.normal(0, sigma, (n, levels))  # truth: a step
            m = x.mean(0)
            s2 = x.var(0, ddof=1).mean()
            t = (c @ m) / np.sqrt(s2 * (c @ c) / n)
            hits += abs(t) > stats.t.ppf(0.975, levels * (n - 1))
        print(f"sd {sigma:.2f} seeds/level {n:3d}: power {hits / R:.2f}")

# size: how often a true line is called a step
x = line + rng.normal(0, 0.07, (20000, 30, levels))
m = x.mean(1)
s2 = x.var(1, ddof=1).mean(1)
t = (m @ c) / np.sqrt(s2 * (c @ c) / 30)
print("false step rate at 30 seeds:", (abs(t) > stats.t.ppf(0.975, levels * 29)).mean())
