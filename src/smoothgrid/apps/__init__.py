"""Applications built on the core (fields, jets, encodings): each a subpackage with its own
data, fitting loop, metrics and plots. Apps import the core, never each other.

* :mod:`~smoothgrid.apps.image`: an image from its values, its Sobel gradients or its Laplacian.
* :mod:`~smoothgrid.apps.sdf`: a signed distance field from a mesh, an oriented point cloud or
  a procedural shape, with its mesh and curvature.
* :mod:`~smoothgrid.apps.nerf`: a radiance field with camera-pose refinement from noisy poses.
* :mod:`~smoothgrid.apps.smoke`: a smoke plume's density and velocity from a few views, with the
  transport equation as physics (and the simulator that makes the data).
* :mod:`~smoothgrid.apps.cloth`: the static drape of a pinned cloth by minimising its
  Kirchhoff-Love thin-shell energy.
"""

from . import cloth, image, nerf, sdf, smoke

__all__ = ["cloth", "image", "nerf", "sdf", "smoke"]
