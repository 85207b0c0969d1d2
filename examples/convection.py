"""Convection: u_t + beta u_x = 0, x in [0, 2 pi) periodic, t in [0, 1], u(0, x) = sin x.

The encoding wraps around on the x axis (exact periodicity) and the hard constraint
u = sin x + t N(x, t) holds the initial condition.

    python examples/convection.py [seconds]
"""

import sys

import smoothgrid as sg

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
beta = 30.0  # also 50, 80
problem = sg.problems.make("convection", beta=beta)
field = sg.problems.suggested_field(problem)  # periodic on x, as the problem asks
settings = sg.problems.suggested_settings(problem)
run = sg.solve(problem, field, time_budget=seconds, out="runs/convection", **settings)
print(f"convection beta={beta:g}: rel L2 {run.metrics['rel_l2']:.2e}")
