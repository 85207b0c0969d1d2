"""Mixed boundary conditions in 30 lines: -Δu = f on [0, 2] x [0, 1], u = 0 on the left, right
and bottom edges and a flux du/dn = g on the top, checked against u = sin(pi x) sin(pi y).

    python examples/mixed_boundary.py [steps]
"""

import math
import sys

import torch

import smoothgrid as sg

PI = math.pi


def exact(x):
    return torch.sin(PI * x[:, :1]) * torch.sin(PI * x[:, 1:])


def flux(x):  # du/dn on the top edge y = 1 (n = (0, 1)): du/dy = pi sin(pi x) cos(pi)
    return -PI * torch.sin(PI * x[:, 0])


problem = sg.Problem(
    domain=sg.geometry.Box([0.0, 0.0], [2.0, 1.0]),
    residual=lambda x, u: u.lap + 2 * PI**2 * exact(x),  # Δu + f = 0
    conditions=[
        sg.Dirichlet(0.0, on=("left", "right", "bottom"), weight=100.0),
        sg.Neumann(flux, on="top", weight=100.0),
    ],
    exact=exact,
)
enc = sg.encodings.make("hermite", dim=2, levels=6, min_res=4, max_res=64, log2_table=14)
field = sg.Field(enc, hidden=(32, 32), out=1)
steps = int(float(sys.argv[1])) if len(sys.argv) > 1 else 1000
run = sg.solve(problem, field, steps=steps, batch=1024, lr=1e-2, out="runs/mixed_boundary")
print(f"rel L2 error {run.metrics['rel_l2']:.2e} in {run.metrics['wall_time']:.1f} s")
