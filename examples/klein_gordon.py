"""Klein-Gordon: u_tt - Δu + u^2 = f on [-1, 1]^2 x [0, 10]; the residual uses the full Hessian
(u_tt and the spatial Laplacian) from analytic jets. The problem's suggested settings (a small
dense grid, 2048 points per step, the lateral data weighted 10) come with it.

    python examples/klein_gordon.py [seconds]
"""

import sys

import smoothgrid as sg

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
problem = sg.problems.make("klein_gordon")
s = problem.suggested
enc = sg.encodings.make(s["encoding_name"], dim=3, **s["encoding"])
field = sg.Field(enc, hidden=s["hidden"], out=1)
run = sg.solve(
    problem, field, time_budget=seconds, batch=s["batch"], lr=s["lr"], weights=s["weights"],
    out="runs/klein_gordon",
)  # fmt: skip
print(f"klein_gordon: rel L2 {run.metrics['rel_l2']:.2e}")
