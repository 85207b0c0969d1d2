"""smoothgrid: physics-informed neural fields on smooth multi-resolution grids."""

from . import encodings, jet
from .jet import Jet

__all__ = ["encodings", "jet", "Jet"]
__version__ = "0.1.0"
