"""Flow mixing: u_t + a u_x + b u_y = 0 on [-4, 4]^2 x [0, 4], a rotating vortex. The
problem's suggested settings: a coarse grid, stratified points and causal time weights.

    python examples/flow_mixing.py [seconds]
"""

import sys

import smoothgrid as sg

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
problem = sg.problems.make("flow_mixing")
field = sg.problems.suggested_field(problem)
settings = sg.problems.suggested_settings(problem)  # includes causal=100: early times first
run = sg.solve(problem, field, time_budget=seconds, out="runs/flow_mixing", **settings)
print(f"flow_mixing: rel L2 {run.metrics['rel_l2']:.2e}")
