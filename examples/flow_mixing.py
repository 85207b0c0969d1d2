"""Flow mixing: u_t + a u_x + b u_y = 0 on [-4, 4]^2 x [0, 4], a rotating vortex. The
problem's suggested settings: a coarse grid, stratified points and causal time weights.

    python examples/flow_mixing.py [seconds]
"""

import sys

import smoothgrid as sg

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
problem = sg.problems.make("flow_mixing")
s = problem.suggested
enc = sg.encodings.make(s["encoding_name"], dim=3, **s["encoding"])
field = sg.Field(enc, hidden=s["hidden"], out=1)
run = sg.solve(
    problem, field, time_budget=seconds, batch=s["batch"], lr=s["lr"],
    stratified=s["stratified"], causal=s["causal"], out="runs/flow_mixing",
)  # fmt: skip
print(f"flow_mixing: rel L2 {run.metrics['rel_l2']:.2e}")
