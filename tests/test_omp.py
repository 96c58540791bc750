"""OMP: grid + Newton refinement, Kronecker dictionaries without the Kronecker matrix."""

import numpy as np
import pytest

from conftest import to_xp
from estimators import omp
from estimators.subspace._omp import _TensorGrid
from sensing import custom_array, steering_vector, to_numpy, ula

LAM = 1.0


def cnoise(rng, shape, scale=1.0):
    return scale * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def tensor(mus, gains, dims):
    t = np.zeros(dims, dtype=complex)
    for b, mu in zip(gains, mus):
        t += b * np.einsum("i,j,k->ijk", *[np.exp(1j * m * np.arange(d)) for m, d in zip(mu, dims)])
    return t


def test_recovers_azimuths_from_few_snapshots(rng):
    g = ula(16, LAM / 2)
    az = np.deg2rad(np.array([-30.0, 0.0, 25.0]))
    x = steering_vector(g, az, wavelength_m=LAM) @ cnoise(rng, (3, 5)) + cnoise(rng, (16, 5), 0.1)
    r = omp(x, n_sources=3, geometry=g, wavelength_m=LAM)
    assert r.parameters == ("azimuth_rad",) and r.gains.shape == (3, 5)
    np.testing.assert_allclose(r.estimates, np.sort(az), atol=np.deg2rad(0.3))


def test_noiseless_off_grid_exact_with_refinement_only(rng):
    mu = np.array([-1.234, 0.4321, 2.0])
    s = cnoise(rng, (3, 1))
    x = np.exp(1j * np.outer(np.arange(20), mu)) @ s
    grid = np.linspace(-np.pi, np.pi, 256, endpoint=False)
    r = omp(x, n_sources=3, grid=grid)
    np.testing.assert_allclose(r.estimates, mu, atol=1e-9)
    np.testing.assert_allclose(r.gains[:, 0], s[:, 0], atol=1e-8)
    assert r.residual_norm < 1e-8
    coarse = omp(x, n_sources=3, grid=grid, refine=False)
    assert np.max(np.abs(coarse.estimates - mu)) > 1e-3


def test_arbitrary_array_noiseless(rng):
    pos = np.c_[np.zeros(10), 0.5 * np.arange(10), 0.1 * rng.standard_normal(10)]
    g = custom_array(pos)
    az = np.array([-0.5, 0.3])
    x = steering_vector(g, az, wavelength_m=LAM) @ cnoise(rng, (2, 3))
    r = omp(x, n_sources=2, geometry=g, wavelength_m=LAM)
    np.testing.assert_allclose(r.estimates, az, atol=1e-9)


def test_kronecker_correlation_equals_explicit_dictionary(rng):
    dims = (4, 5, 3)
    grids = [np.linspace(-3, 3, 7), np.linspace(-2, 2.5, 6), np.linspace(-1, 1, 4)]
    tg = _TensorGrid(np, grids, dims)
    u = cnoise(rng, (2, 60, 2))
    got = tg.power(u)
    atoms = []
    for a in grids[0]:
        for b in grids[1]:
            for c in grids[2]:
                atoms.append(np.kron(np.kron(np.exp(1j * a * np.arange(4)), np.exp(1j * b * np.arange(5))),
                                     np.exp(1j * c * np.arange(3))))
    big = np.stack(atoms, axis=1)                                    # (60, 168): the explicit Kronecker dictionary
    ref = np.sum(np.abs(big.conj().T[None] @ u) ** 2, axis=-1)
    np.testing.assert_allclose(got, ref, rtol=1e-10)


def test_tensor_mode_noiseless_and_batched(rng):
    mus = np.array([[0.3, -1.0, 0.5], [-0.7, 0.8, -2.0]])
    dims = (6, 7, 5)
    t = tensor(mus, [1.0, 0.6j], dims)
    grids = [np.linspace(-np.pi, np.pi, 32, endpoint=False)] * 3
    r = omp(t, n_sources=2, grid=grids)
    np.testing.assert_allclose(r.estimates, mus[np.argsort(mus[:, 0])], atol=1e-9)
    tb = np.stack([t + cnoise(rng, dims, 0.05) for _ in range(3)])
    rb = omp(tb, n_sources=2, grid=grids)
    assert rb.estimates.shape == (3, 2, 3) and rb.residual_norm.shape == (3,)
    for i in range(3):
        np.testing.assert_allclose(rb.estimates[i], omp(tb[i], n_sources=2, grid=grids).estimates, atol=1e-12)


def test_backends_agree(xp, rng):
    mu = np.array([-1.0, 0.7])
    x = np.exp(1j * np.outer(np.arange(12), mu)) @ cnoise(rng, (2, 3)) + cnoise(rng, (12, 3), 0.05)
    grid = np.linspace(-np.pi, np.pi, 128, endpoint=False)
    ref = omp(x, n_sources=2, grid=grid)
    r = omp(to_xp(xp, x), n_sources=2, grid=to_xp(xp, grid))
    assert type(r.estimates) is type(to_xp(xp, np.zeros(1)))
    np.testing.assert_allclose(to_numpy(r.estimates), ref.estimates, atol=1e-9)


def test_bad_input(rng):
    x = cnoise(rng, (8, 2))
    with pytest.raises(ValueError, match="at least one grid point"):
        omp(x, n_sources=1, grid=np.array([]))
    with pytest.raises(ValueError, match="strictly monotonic"):
        omp(x, n_sources=1, grid=np.array([0.0, 1.0, 0.5]))
    with pytest.raises(ValueError, match=r"n_sources.*\[1, 8\]"):
        omp(x, n_sources=9)
    with pytest.raises(ValueError, match="Kronecker"):
        omp(cnoise(rng, (4, 4)), n_sources=1, grid=[np.linspace(-1, 1, 5)] * 2, geometry=ula(4, 0.5), wavelength_m=1.0)
    x[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        omp(x, n_sources=1)


def test_grid_smaller_than_sources_rejected_and_atoms_unique():
    import numpy as np
    import pytest

    from estimators import omp

    rng = np.random.default_rng(0)
    y = rng.standard_normal((8, 20)) + 1j * rng.standard_normal((8, 20))
    with pytest.raises(ValueError, match="n_sources"):
        omp(y, n_sources=2, grid=np.array([0.1]), refine=False)
    r = omp(y, n_sources=3, grid=np.linspace(-1.0, 1.0, 5), refine=False)   # pure noise: picks must differ
    assert len(np.unique(np.round(np.asarray(r.estimates), 12))) == 3
