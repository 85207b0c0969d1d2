"""Klein-Gordon: u_tt - Δu + u^2 = f on [-1, 1]^2 x [0, 10]; the residual uses the full Hessian
(u_tt and the spatial Laplacian) from analytic jets.

    python examples/klein_gordon.py [seconds]
"""

import sys

import smoothgrid as sg

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
problem = sg.problems.make("klein_gordon")
enc = sg.encodings.make("hermite", dim=3, levels=8, min_res=4, max_res=64, log2_table=18)
field = sg.Field(enc, hidden=(64, 64), out=1)
run = sg.solve(problem, field, time_budget=seconds, batch=8192, lr=1e-2, out="runs/klein_gordon")
print(f"klein_gordon: rel L2 {run.metrics['rel_l2']:.2e}")
