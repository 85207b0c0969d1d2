"""Helmholtz 2D: Δu + k^2 u = q on [-1, 1]^2 with u* = sin(a1 pi x) sin(a2 pi y).

python examples/helmholtz.py [seconds]
"""

import sys

import smoothgrid as sg

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
a1, a2 = 1.0, 4.0  # BENCHMARKS.md variants: (1, 4), (10, 10), (20, 20), (100, 100)
problem = sg.problems.make("helmholtz2d", a1=a1, a2=a2)
field = sg.problems.suggested_field(problem)  # the Hermite grid and decoder of problem.suggested
settings = sg.problems.suggested_settings(problem)  # batch, rates, decay, stratified points
run = sg.solve(problem, field, time_budget=seconds, out="runs/helmholtz2d", **settings)
print(f"helmholtz2d ({a1:g}, {a2:g}): rel L2 {run.metrics['rel_l2']:.2e}")
