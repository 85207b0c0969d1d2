"""Taylor-Green vortex: 2D incompressible Navier-Stokes, nu = 0.01, [0, 2 pi]^2 periodic,
t in [0, 1]; outputs (u, v, p), residuals momentum + continuity; error on the velocity.

    python examples/taylor_green.py [seconds]
"""

import sys

import smoothgrid as sg

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
problem = sg.problems.make("taylor_green")
field = sg.problems.suggested_field(problem)  # periodic on x and y, outputs (u, v, p)
settings = sg.problems.suggested_settings(problem)
run = sg.solve(problem, field, time_budget=seconds, out="runs/taylor_green", **settings)
print(f"taylor_green: velocity rel L2 {run.metrics['rel_l2']:.2e}")
