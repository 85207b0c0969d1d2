"""Heat equations: linear heat u_t = kappa Δu on [0, 1]^2 x [0, 1], and the SPINN nonlinear heat
u_t = 0.05 (|grad u|^2 + u Δu), checked against the project's finite-difference reference.

    python examples/heat.py [seconds]
"""

import sys

import smoothgrid as sg

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
for name in ("heat", "nonlinear_heat"):
    problem = sg.problems.make(name)
    field = sg.problems.suggested_field(problem)
    settings = sg.problems.suggested_settings(problem)
    run = sg.solve(problem, field, time_budget=seconds, out=f"runs/{name}", **settings)
    print(f"{name}: rel L2 {run.metrics['rel_l2']:.2e}")
