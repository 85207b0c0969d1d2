"""Domains: boxes and space-time cylinders with samplers, test grids and constraint factors."""

from .box import Box
from .spacetime import SpaceTime

__all__ = ["Box", "SpaceTime"]
