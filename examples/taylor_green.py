"""Taylor-Green vortex: 2D incompressible Navier-Stokes, nu = 0.01, [0, 2 pi]^2 periodic,
t in [0, 1]; outputs (u, v, p), residuals momentum + continuity; error on the velocity.

    python examples/taylor_green.py [seconds]
"""

import sys

import smoothgrid as sg

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
problem = sg.problems.make("taylor_green")
enc = sg.encodings.make(
    "hermite", dim=3, levels=8, min_res=4, max_res=64, log2_table=18, periodic=(0, 1)
)
field = sg.Field(enc, hidden=(64, 64), out=3)
run = sg.solve(problem, field, time_budget=seconds, batch=8192, lr=1e-2, out="runs/taylor_green")
print(f"taylor_green: velocity rel L2 {run.metrics['rel_l2']:.2e}")
