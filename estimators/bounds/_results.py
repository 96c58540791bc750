"""The result type of the Cramér–Rao bounds on angles and harmonic frequencies."""

from __future__ import annotations

from dataclasses import dataclass

from sensing import Array, HostCopy

__all__ = ["BoundResult"]


@dataclass(frozen=True)
class BoundResult(HostCopy):
    """A Cramér-Rao bound.

    Attributes
    ----------
    covariance : array, shape (..., n_params * n_sources, n_params * n_sources), real
        The bound on the error covariance, parameter-major: all sources' first parameter, then
        all sources' second parameter, ... (the stacking :math:`[\\mathbf D_1, \\dots, \\mathbf D_R]`).
    std : array, shape (..., n_sources) or (..., n_sources, n_params), real
        Square roots of the diagonal: the per-parameter standard-deviation bound.
    parameters : tuple of str
        Name of each parameter.
    units : tuple of str
        Unit of each parameter's standard deviation.
    """

    covariance: Array
    std: Array
    parameters: tuple
    units: tuple
