"""Kirchhoff-Love plate: D Δ²w = q on the unit square, simply supported. Fourth order: the RBF
encoding (C-infinity inside cells) with autograd derivatives, as ∂∞-Grid does.

    python examples/kirchhoff_love.py [seconds]
"""

import sys

import smoothgrid as sg

seconds = float(sys.argv[1]) if len(sys.argv) > 1 else 60.0
problem = sg.problems.make("kirchhoff_love")
enc = sg.encodings.make("rbf", dim=2, levels=6, min_res=4, max_res=64, log2_table=14)
field = sg.Field(enc, hidden=(64, 64), out=1)
run = sg.solve(problem, field, time_budget=seconds, batch=4096, lr=1e-2, out="runs/kirchhoff_love")
print(f"kirchhoff_love: rel L2 {run.metrics['rel_l2']:.2e}")
