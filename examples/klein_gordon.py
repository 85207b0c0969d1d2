"""Klein-Gordon: u_tt - Δu + u^2 = f on [-1, 1]^2 x [0, 10]; the residual uses the full Hessian
(u_tt and the spatial Laplacian) from analytic jets. The problem's suggested settings (a small
dense grid, 2048 points per step, the lateral data weighted 10) come with it.

    python examples/klein_gordon.py [seconds]
"""

import sys

import smoothgrid as sg

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
problem = sg.problems.make("klein_gordon")
field = sg.problems.suggested_field(problem)
settings = sg.problems.suggested_settings(problem)  # weights={"dirichlet": 10}, causal=1
run = sg.solve(problem, field, time_budget=seconds, out="runs/klein_gordon", **settings)
print(f"klein_gordon: rel L2 {run.metrics['rel_l2']:.2e}")
