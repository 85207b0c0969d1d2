"""Kirchhoff-Love plate: D Δ²w = q on the unit square, simply supported. The mixed formulation
(default) solves for (w, m = Δw) with two second-order residuals, so analytic jets work on any
encoding; the biharmonic one takes Δ²w by autograd through an RBF grid (coarse and slow).

    python examples/kirchhoff_love.py [seconds] [mixed|biharmonic]
"""

import sys

import smoothgrid as sg

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
formulation = sys.argv[2] if len(sys.argv) > 2 else "mixed"
problem = sg.problems.make("kirchhoff_love", formulation=formulation)
field = sg.problems.suggested_field(problem)  # Hermite (mixed) or RBF (biharmonic), out = 2 or 1
settings = sg.problems.suggested_settings(problem)  # the measured defaults of this formulation
run = sg.solve(
    problem, field, time_budget=seconds, out=f"runs/kirchhoff_love_{formulation}", **settings
)
print(f"kirchhoff_love ({formulation}): rel L2 of w {run.metrics['rel_l2']:.2e}")
