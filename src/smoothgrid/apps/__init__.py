"""Applications built on the core (fields, jets, encodings): each a subpackage with its own
data, fitting loop, metrics and plots. Apps import the core, never each other.

* :mod:`~smoothgrid.apps.image`: an image from its values, its Sobel gradients or its Laplacian.
"""

from . import image

__all__ = ["image"]
