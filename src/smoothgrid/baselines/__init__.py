"""Baselines and smoothgrid's methods, each a field ready for :func:`smoothgrid.solve`.

>>> import smoothgrid as sg
>>> problem = sg.problems.make("poisson2d")
>>> field = sg.baselines.make("pinn", dim=2)               # autograd derivatives, as in its paper
>>> run = sg.solve(problem, field, steps=500, **sg.baselines.settings("pinn"))  # doctest: +SKIP

| name | what | derivatives |
|---|---|---|
| ``pinn`` | tanh MLP 4 x 128 on the coordinates | autograd |
| ``fourier_mlp`` | random Fourier features + tanh MLP | autograd |
| ``siren`` | SIREN (omega0 = 30, its init) | autograd (jets agree) |
| ``piratenet`` | Fourier features, gated residual blocks, weight factorisation | autograd |
| ``ingp_fd`` | linear hash grid + MLP | finite differences |
| ``dinf_grid`` | dense Gaussian-RBF grid + MLP (∂∞-Grid) | autograd |
| ``hermite``, ``rbf``, ``quintic``, ``cosine`` | smoothgrid's grids | jets |
"""

from .methods import METHODS, SIZES, Method, describe, make, names, rates, settings

__all__ = ["make", "names", "describe", "settings", "rates", "Method", "METHODS", "SIZES"]
