"""Flow mixing: u_t + a u_x + b u_y = 0 on [-4, 4]^2 x [0, 4], a rotating vortex.

python examples/flow_mixing.py [seconds]
"""

import sys

import smoothgrid as sg

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
problem = sg.problems.make("flow_mixing")
enc = sg.encodings.make("hermite", dim=3, levels=8, min_res=4, max_res=64, log2_table=18)
field = sg.Field(enc, hidden=(64, 64), out=1)
run = sg.solve(problem, field, time_budget=seconds, batch=8192, lr=1e-2, out="runs/flow_mixing")
print(f"flow_mixing: rel L2 {run.metrics['rel_l2']:.2e}")
