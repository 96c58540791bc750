"""R-D ESPRIT pairing: simultaneous Schur decomposition (Haardt-Nossek) vs the eigenvector pairing."""

import array_api_compat as aac
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from estimators import esprit_nd
from estimators.subspace._esprit import schur_pairing
from estimators.subspace._schur_kernels import ssd_kernel, ssd_sweeps_xp

XP = aac.array_namespace(np.empty(0))


def cnoise(rng, shape, scale=1.0):
    return scale * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


def harmonic(mus, gains, dims):
    t = np.zeros(dims, dtype=complex)
    letters = "abcd"[:len(dims)]
    for b, mu in zip(gains, mus):
        t += b * np.einsum(",".join(letters) + "->" + letters, *[np.exp(1j * m * np.arange(d)) for m, d in zip(mu, dims)])
    return t


def snapshots(mus, dims, n, sigma, rng):
    k = len(mus)
    a = np.ones((1, k), dtype=complex)
    for r, d in enumerate(dims):
        a = np.einsum("ik,jk->ijk", a, np.exp(1j * np.outer(np.arange(d), mus[:, r]))).reshape(-1, k)
    x = a @ cnoise(rng, (k, n)) + cnoise(rng, (a.shape[0], n), sigma)
    return x.reshape(tuple(dims) + (n,))


def by_first(m):
    return m[np.argsort(m[:, 0])]


@pytest.mark.parametrize("pairing", ["schur", "eig"])
@pytest.mark.parametrize("unitary", [True, False])
def test_noiseless_exact_recovery_2d_and_3d(pairing, unitary):
    mus3 = np.array([[0.3, -1.0, 0.5], [-0.7, 0.8, -2.0], [1.5, 0.1, 0.2], [-2.0, -2.5, 1.0]])
    r = esprit_nd(harmonic(mus3, [1.0, 0.8j, -0.6, 0.5 + 0.5j], (6, 9, 7)), n_sources=4,
                  subarray_shape=(4, 5, 4), unitary=unitary, pairing=pairing)
    np.testing.assert_allclose(r.estimates, by_first(mus3), atol=1e-9)
    mus2 = np.array([[-0.9, 0.4], [0.2, -0.6], [1.1, 1.3]])
    x = snapshots(mus2, (5, 6), 20, 0.0, np.random.default_rng(1))
    r2 = esprit_nd(x, n_sources=3, snapshots=True, unitary=unitary, pairing=pairing)
    np.testing.assert_allclose(r2.estimates, by_first(mus2), atol=1e-9)


@pytest.mark.parametrize("pairing", ["schur", "eig"])
@pytest.mark.parametrize("unitary", [True, False])
def test_two_sources_share_one_frequency(pairing, unitary):
    """Sources 0 and 1 have the same frequency in dimension 1 (a double eigenvalue of Upsilon_1)."""
    mus = np.array([[0.5, -1.0, 0.7], [0.5, 0.6, -1.2], [-1.3, 1.1, 0.1]])
    dims = (7, 8, 6)
    t = harmonic(mus, [1.0, -0.7j, 0.8], dims)
    order = lambda m: m[np.lexsort((m[:, 1], np.round(m[:, 0], 1)))]      # dimension 1 ties: by dimension 2
    truth = order(mus)
    r = esprit_nd(t, n_sources=3, subarray_shape=(4, 5, 4), unitary=unitary, pairing=pairing)
    np.testing.assert_allclose(order(r.estimates), truth, atol=1e-8)
    rng = np.random.default_rng(4)
    rn = esprit_nd(t + cnoise(rng, dims, 0.02), n_sources=3, subarray_shape=(4, 5, 4), unitary=unitary,
                   pairing=pairing)
    np.testing.assert_allclose(order(rn.estimates), truth, atol=0.02)


def test_schur_pairs_where_the_fixed_combination_is_degenerate():
    """Two 3-D sources whose eigenvalues of sum_r e^{j1.1 r} Upsilon_r coincide (Unitary ESPRIT):
    the eigenvector pairing is ill-conditioned there, the Schur pairing is not."""
    ph = 1.1
    d = np.array([-(np.cos(ph) * (-np.sin(2 * ph) / np.sin(ph)) + np.cos(2 * ph)), -np.sin(2 * ph) / np.sin(ph), 1.0])
    wa = np.tan(np.array([0.2, -0.4, 0.6]) / 2)
    wb = wa + 0.5 * d / np.linalg.norm(d)
    mus = np.array([2 * np.arctan(wa), 2 * np.arctan(wb), [-1.5, 1.2, -1.0]])
    comb = (np.tan(mus / 2) * np.exp(1j * ph * np.arange(3))).sum(axis=1)
    assert abs(comb[0] - comb[1]) < 1e-12                                   # the construction is degenerate
    rng = np.random.default_rng(8)
    x = np.stack([snapshots(mus, (6, 6, 6), 10, 0.1, rng) for _ in range(20)])   # 20 dB per element
    r = esprit_nd(x, n_sources=3, snapshots=True, n_dims=3, pairing="schur")
    truth = by_first(mus)
    err = np.sqrt(np.mean((r.estimates - truth) ** 2, axis=(-2, -1)))
    assert np.max(err) < 0.01, err


@pytest.mark.parametrize("unitary", [True, False])
def test_schur_batched_equals_loop(rng, unitary):
    mus = np.array([[0.3, -1.0, 0.5], [-0.7, 0.8, -2.0]])
    dims = (5, 6, 5)
    t = np.stack([harmonic(mus, [1.0, 0.5], dims) + cnoise(rng, dims, 0.05) for _ in range(4)])
    rb = esprit_nd(t, n_sources=2, n_dims=3, subarray_shape=(3, 4, 3), unitary=unitary, pairing="schur")
    for i in range(4):
        one = esprit_nd(t[i], n_sources=2, subarray_shape=(3, 4, 3), unitary=unitary, pairing="schur")
        np.testing.assert_allclose(rb.estimates[i], one.estimates, atol=1e-12)


def test_bad_pairing_is_rejected():
    t = harmonic(np.array([[0.3, -1.0]]), [1.0], (4, 4))
    with pytest.raises(ValueError, match=r"`pairing` must be one of 'schur', 'eig'; got 'qz'"):
        esprit_nd(t, n_sources=1, pairing="qz")


def _near_commuting(rng, n_b, n_r, k, real, noise):
    cplx = 0.0 if real else 1.0
    t = rng.standard_normal((n_b, k, k)) + cplx * 1j * rng.standard_normal((n_b, k, k)) + 2.0 * np.eye(k)
    om = rng.uniform(-1.0, 1.0, (n_b, n_r, k)) + cplx * 1j * rng.uniform(-1.0, 1.0, (n_b, n_r, k))
    m = np.einsum("bij,brj,bjk->brik", t, om, np.linalg.inv(t))
    m = m + noise * (rng.standard_normal(m.shape) + cplx * 1j * rng.standard_normal(m.shape))
    return m.astype(np.complex128), om


def _paired(a):
    d = np.swapaxes(np.diagonal(a, axis1=-2, axis2=-1), -1, -2)             # (B, K, R)
    o = np.argsort(d[..., 0].real + 1e-3 * d[..., 0].imag, axis=-1)
    return np.take_along_axis(d, o[..., None], axis=1)


@given(seed=st.integers(0, 2**31), n_b=st.integers(1, 3), n_r=st.integers(1, 3), k=st.integers(2, 5),
       real=st.booleans(), noise=st.sampled_from([1e-3, 3e-2]))
def test_kernel_matches_twin(seed, n_b, n_r, k, real, noise):
    rng = np.random.default_rng(seed)
    m, _ = _near_commuting(rng, n_b, n_r, k, real, noise)
    q0 = np.broadcast_to(np.eye(k, dtype=np.complex128), (n_b, k, k))
    # two sweeps: the same rotations in the same order. Each rotation minimises a smooth function,
    # so rounding moves its argument by up to ~sqrt(eps) (300 random cases: <= 2e-6 after 2 sweeps)
    a1, q1, s1 = m.copy(), q0.copy(), np.zeros(n_b, dtype=np.int64)
    ssd_kernel(a1, q1, real, 2, 0.0, s1)
    a2, q2, s2 = ssd_sweeps_xp(m, q0, XP, real=real, max_sweeps=2, rtol=0.0)
    np.testing.assert_allclose(a1, a2, atol=2e-5)
    np.testing.assert_allclose(q1, q2, atol=2e-5)
    np.testing.assert_array_equal(s1, s2)
    # both are similarity transforms by the accumulated unitary q, real when asked
    np.testing.assert_allclose(np.conj(np.swapaxes(q1, -1, -2))[:, None] @ m @ q1[:, None], a1, atol=1e-12)
    np.testing.assert_allclose(np.conj(np.swapaxes(q1, -1, -2)) @ q1, np.broadcast_to(np.eye(k), q1.shape), atol=1e-12)
    if real:
        assert np.max(np.abs(q1.imag)) == 0.0 and np.max(np.abs(a1.imag)) == 0.0
    # to convergence: the same paired eigenvalues
    a1, q1, s1 = m.copy(), q0.copy(), np.zeros(n_b, dtype=np.int64)
    ssd_kernel(a1, q1, real, 30, 1e-9, s1)
    a2, _, _ = ssd_sweeps_xp(m, q0, XP, real=real)
    np.testing.assert_allclose(_paired(a1), _paired(a2), atol=2e-5)


@pytest.mark.parametrize("real", [True, False])
def test_sweeps_triangularise_commuting_matrices_from_the_identity(rng, real):
    """No initial basis: the Jacobi sweeps alone reach the joint Schur form and the paired eigenvalues
    (from the identity the convergence is linear -- the rotations couple through the upper
    triangle of non-normal matrices -- so 30 sweeps give ~1e-8, not machine precision)."""
    m, om = _near_commuting(rng, 5, 3, 4, real, 0.0)
    mats = [m[:, r] for r in range(3)]
    for use_kernel in (True, False):
        d = schur_pairing(mats, XP, real=real, init=False, use_kernel=use_kernel)      # (B, R, K)
        got = np.swapaxes(d, -1, -2)
        want = np.swapaxes(om, -1, -2)
        for b in range(5):
            o_got, o_want = np.argsort(got[b][:, 0].real), np.argsort(want[b][:, 0].real)
            np.testing.assert_allclose(got[b][o_got], want[b][o_want], atol=1e-6)


def test_namespaces(xp, rng):
    """The vectorised sweep on CuPy == NumPy's kernel; esprit_nd on other namespaces (K x K pairing
    steps on the host) == NumPy and keeps the namespace."""
    from conftest import to_xp
    from sensing import to_numpy

    if "strict" not in xp.__name__:
        m, _ = _near_commuting(rng, 4, 3, 4, False, 1e-2)
        q0 = np.broadcast_to(np.eye(4, dtype=np.complex128), (4, 4, 4))
        a1, q1 = m.copy(), q0.copy()
        ssd_kernel(a1, q1, False, 2, 0.0, np.zeros(4, dtype=np.int64))
        a2, _, _ = ssd_sweeps_xp(to_xp(xp, m), to_xp(xp, q0), xp, real=False, max_sweeps=2, rtol=0.0)
        assert type(a2) is type(to_xp(xp, np.zeros(1)))
        np.testing.assert_allclose(to_numpy(a2), a1, atol=2e-5)
    mus = np.array([[0.3, -1.0, 0.5], [-0.7, 0.8, -2.0], [1.5, 0.1, 0.2]])
    dims = (5, 6, 5)
    t = np.stack([harmonic(mus, [1.0, 0.5j, -0.8], dims) + cnoise(rng, dims, 0.05) for _ in range(3)])
    for unitary in (True, False):
        ref = esprit_nd(t, n_sources=3, n_dims=3, subarray_shape=(3, 4, 3), unitary=unitary)
        got = esprit_nd(to_xp(xp, t), n_sources=3, n_dims=3, subarray_shape=(3, 4, 3), unitary=unitary)
        assert type(got.estimates) is type(to_xp(xp, np.zeros(1)))
        np.testing.assert_allclose(to_numpy(got.estimates), ref.estimates, atol=1e-6)
