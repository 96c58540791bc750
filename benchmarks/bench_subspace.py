#!/usr/bin/env python
"""Subspace-estimator benchmark: wall time and RMSE, side by side with plain NumPy references.

Cases: 1-D MUSIC (ULA M = 16, 64, 256; N = 200; K = 3; 3600-point grid), root-MUSIC and
ESPRIT (M = 16, 64), 2-D MUSIC (8x8 URA, 181x181 grid; the same array in the x-y plane and
rotated, i.e. the planar-lattice kernel, against the y-z UPA kernel and the general one), angle x delay MUSIC on a smoothed OFDM
tensor (16 antennas x 64 subcarriers), and batches of 1000 trials against a loop of single calls.

References: the textbook noise-subspace forms in plain vectorised NumPy (full ``eigh``,
materialised steering matrix, ``numpy.roots``, ``lstsq``), and pyroomacoustics' MUSIC where it
is installed (``pip install pyroomacoustics``; skipped otherwise).

Usage::

    python benchmarks/bench_subspace.py            # one BLAS thread (default)
    python benchmarks/bench_subspace.py --threads 2 --trials 50
    python benchmarks/bench_subspace.py --quick    # smaller repeat counts

Times are medians over repeats after a warm-up (numba compilation excluded); RMSE is over
``--trials`` independent noise draws at the stated SNR (degrees unless noted).
"""

from __future__ import annotations

import argparse
import os
import sys


def _threads(argv) -> int:
    for i, a in enumerate(argv):
        if a == "--threads" and i + 1 < len(argv):
            return int(argv[i + 1])
        if a.startswith("--threads="):
            return int(a.split("=", 1)[1])
    return 1


_N_THREADS = _threads(sys.argv[1:])
for _v in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_v] = str(_N_THREADS)                 # before NumPy/numba are imported

import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

try:  # noqa: E402
    from threadpoolctl import threadpool_limits
except ImportError:  # pragma: no cover
    threadpool_limits = None

import estimators as est  # noqa: E402
from sensing import custom_array, steering_vector, ula, upa  # noqa: E402

warnings.simplefilter("ignore", est.SubspaceWarning)


# --- timing helpers --------------------------------------------------------------------------


def timeit(fn, repeat: int) -> float:
    """Median wall time [ms] of ``repeat`` calls after one warm-up call."""
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return 1e3 * float(np.median(times))


def cnoise(rng, shape, scale=1.0):
    return scale * (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) / np.sqrt(2)


ROWS: list[tuple] = []


def report(case, impl, ms, rmse, unit="deg"):
    ROWS.append((case, impl, ms, rmse, unit))
    r = "n/a" if rmse is None else f"{rmse:.4f} {unit}"
    print(f"  {case:<34s} {impl:<30s} {ms:10.3f} ms   RMSE {r}", flush=True)


# --- textbook NumPy references -----------------------------------------------------------------


def peaks_textbook(spec, k):
    """Top-k local maxima of a 1-D spectrum (vectorised)."""
    s = np.concatenate([[-np.inf], spec, [-np.inf]])
    is_pk = (s[1:-1] > s[:-2]) & (s[1:-1] >= s[2:])
    cand = np.flatnonzero(is_pk)
    return np.sort(cand[np.argsort(spec[cand])[::-1][:k]])


def music_textbook(x, steer, k):
    r = x @ x.conj().T / x.shape[1]
    _, v = np.linalg.eigh(r)
    en = v[:, : r.shape[0] - k]
    p = 1.0 / np.sum(np.abs(en.conj().T @ steer) ** 2, axis=0)
    return p


def root_music_textbook(x, k):
    m = x.shape[0]
    r = x @ x.conj().T / x.shape[1]
    _, v = np.linalg.eigh(r)
    en = v[:, : m - k]
    c = en @ en.conj().T
    coef = np.array([np.trace(c, offset=l) for l in range(m - 1, -m, -1)])
    z = np.roots(coef)
    z = z[np.argsort(np.abs(z))][: m - 1]
    z = z[np.argsort(np.abs(1 - np.abs(z)))][:k]
    return np.sort(np.angle(z))


def esprit_textbook(x, k):
    r = x @ x.conj().T / x.shape[1]
    _, v = np.linalg.eigh(r)
    es = v[:, -k:]
    psi = np.linalg.lstsq(es[:-1], es[1:], rcond=None)[0]
    return np.sort(np.angle(np.linalg.eigvals(psi)))


def peaks2d_textbook(spec, k):
    p = np.pad(spec, 1, constant_values=-np.inf)
    c = p[1:-1, 1:-1]
    is_pk = np.ones_like(c, dtype=bool)
    for da in (-1, 0, 1):
        for de in (-1, 0, 1):
            if da or de:
                is_pk &= c >= p[1 + da:1 + da + c.shape[0], 1 + de:1 + de + c.shape[1]]
    cand = np.flatnonzero(is_pk)
    return cand[np.argsort(spec.ravel()[cand])[::-1][:k]]


# --- cases --------------------------------------------------------------------------------------


def case_music_1d(rng, trials, repeat, pra):
    grid = np.linspace(-np.pi / 2, np.pi / 2, 3600)
    az = np.deg2rad(np.array([-20.3, 10.7, 35.2]))
    for m in (16, 64, 256):
        g = ula(m, 0.5)
        a = steering_vector(g, az, wavelength_m=1.0)
        x = a @ cnoise(rng, (trials, 3, 200)) + cnoise(rng, (trials, m, 200), 1.0)   # 0 dB per element
        case = f"MUSIC 1-D M={m} N=200 K=3 G=3600"
        ours = est.music(x, n_sources=3, geometry=g, wavelength_m=1.0, grid=grid, return_spectrum=False)
        rm = np.rad2deg(np.sqrt(np.mean((ours.estimates - az) ** 2)))
        report(case, "estimators.music", timeit(lambda: est.music(x[0], n_sources=3, geometry=g, wavelength_m=1.0,
                                                                  grid=grid), repeat), rm)
        steer = steering_vector(g, grid, wavelength_m=1.0)
        tb = np.stack([grid[peaks_textbook(music_textbook(xi, steer, 3), 3)] for xi in x])
        rt = np.rad2deg(np.sqrt(np.mean((tb - az) ** 2)))
        report(case, "textbook NumPy (noise subspace)",
               timeit(lambda: grid[peaks_textbook(music_textbook(x[0], steering_vector(g, grid, wavelength_m=1.0), 3), 3)],
                      max(3, repeat // 4)), rt)
        if pra is not None:
            c, fs, nfft, kbin = 343.0, 16000, 256, 32
            lam = c * nfft / (kbin * fs)
            gp = ula(m, lam / 2)
            doa = pra.doa.algorithms["MUSIC"](gp.positions_m[:, :2].T, fs, nfft, c=c, num_src=3, azimuth=grid)
            big = np.zeros((m, nfft // 2 + 1, 200), dtype=complex)
            res = []
            for xi in x:
                big[:, kbin, :] = xi
                doa.locate_sources(big, num_src=3, freq_bins=[kbin])
                res.append(np.sort(doa.azimuth_recon))
            rp = np.rad2deg(np.sqrt(np.mean((np.array(res) - az) ** 2)))
            big[:, kbin, :] = x[0]
            report(case, "pyroomacoustics MUSIC (grid)",
                   timeit(lambda: doa.locate_sources(big, num_src=3, freq_bins=[kbin]), max(3, repeat // 4)), rp)


def case_root_esprit(rng, trials, repeat):
    az = np.deg2rad(np.array([-20.3, 10.7, 35.2]))
    for m in (16, 64):
        g = ula(m, 0.5)
        mu = np.pi * np.sin(az)
        x = steering_vector(g, az, wavelength_m=1.0) @ cnoise(rng, (trials, 3, 200)) + cnoise(rng, (trials, m, 200))
        case = f"root-MUSIC M={m} N=200 K=3"
        r = est.root_music(x, n_sources=3)
        report(case, "estimators.root_music", timeit(lambda: est.root_music(x[0], n_sources=3), repeat),
               np.sqrt(np.mean((r.estimates - mu) ** 2)), "rad (mu)")
        tb = np.stack([root_music_textbook(xi, 3) for xi in x])
        report(case, "textbook NumPy (numpy.roots)", timeit(lambda: root_music_textbook(x[0], 3), max(3, repeat // 4)),
               np.sqrt(np.mean((tb - mu) ** 2)), "rad (mu)")
        case = f"ESPRIT M={m} N=200 K=3"
        for name, fn in (("estimators.esprit (LS)", est.esprit), ("estimators.unitary_esprit", est.unitary_esprit)):
            r = fn(x, n_sources=3)
            report(case, name, timeit(lambda: fn(x[0], n_sources=3), repeat),
                   np.sqrt(np.mean((r.estimates - mu) ** 2)), "rad (mu)")
        tb = np.stack([esprit_textbook(xi, 3) for xi in x])
        report(case, "textbook NumPy (lstsq)", timeit(lambda: esprit_textbook(x[0], 3), repeat),
               np.sqrt(np.mean((tb - mu) ** 2)), "rad (mu)")


def case_music_2d(rng, trials, repeat):
    g = upa(8, 8, 0.5)
    az, el = np.deg2rad(np.array([-25.2, 14.6])), np.deg2rad(np.array([10.3, -20.7]))
    grid = np.linspace(-np.pi / 2, np.pi / 2, 181)
    x = steering_vector(g, az, el, wavelength_m=1.0) @ cnoise(rng, (trials, 2, 200)) + cnoise(rng, (trials, 64, 200))
    truth = np.c_[az, el]
    case = "MUSIC 2-D 8x8 URA, 181x181 grid"
    r = est.music_2d(x, n_sources=2, geometry=g, wavelength_m=1.0, azimuth_grid_rad=grid, elevation_grid_rad=grid,
                     return_spectrum=False)
    report(case, "estimators.music_2d", timeit(lambda: est.music_2d(x[0], n_sources=2, geometry=g, wavelength_m=1.0,
                                                                     azimuth_grid_rad=grid, elevation_grid_rad=grid),
                                               repeat), np.rad2deg(np.sqrt(np.mean((r.estimates - truth) ** 2))))
    aa, ee = np.meshgrid(grid, grid, indexing="ij")

    def textbook(xi):
        steer = steering_vector(g, aa.ravel(), ee.ravel(), wavelength_m=1.0)
        spec = music_textbook(xi, steer, 2).reshape(181, 181)
        idx = peaks2d_textbook(spec, 2)
        e = np.c_[aa.ravel()[idx], ee.ravel()[idx]]
        return e[np.argsort(e[:, 0])]

    tb = np.stack([textbook(xi) for xi in x[: max(3, trials // 4)]])
    report(case, "textbook NumPy (materialised)", timeit(lambda: textbook(x[0]), max(3, repeat // 4)),
           np.rad2deg(np.sqrt(np.mean((tb - truth) ** 2))))


def case_music_2d_lattice(rng, repeat):
    """2-D MUSIC, 8x8 array, 181x181 grid: y-z UPA kernel vs planar-lattice kernel vs general kernel."""
    g = upa(8, 8, 0.5)
    base = g.positions_m
    ax = np.array([1.0, 0.3, -0.5]) / np.linalg.norm([1.0, 0.3, -0.5])
    kx = np.array([[0, -ax[2], ax[1]], [ax[2], 0, -ax[0]], [-ax[1], ax[0], 0]])
    rot = np.eye(3) + np.sin(0.7) * kx + (1 - np.cos(0.7)) * kx @ kx
    geos = {"y-z UPA (UPA kernel)": g,
            "x-y UPA (lattice kernel)": custom_array(np.c_[base[:, 1], base[:, 2], np.zeros(64)]),
            "rotated UPA (lattice kernel)": custom_array(base @ rot.T + np.array([0.3, -1.0, 2.0]))}
    az, el = np.deg2rad(np.array([-25.2, 14.6])), np.deg2rad(np.array([10.3, -20.7]))
    grid = np.linspace(-np.pi / 2, np.pi / 2, 181)
    # a non-lattice array of 64 elements (the rotated UPA, slightly perturbed) takes the general kernel
    general = custom_array(geos["rotated UPA (lattice kernel)"].positions_m + 1e-3 * rng.standard_normal((64, 3)))
    geos["perturbed rotated (general kernel)"] = general
    for n_b in (1, 8):
        case = f"2-D MUSIC, planar lattice, B={n_b}"
        base_ms = None
        for name, geo in geos.items():
            x = steering_vector(geo, az, el, wavelength_m=1.0) @ cnoise(rng, (n_b, 2, 200)) + cnoise(rng, (n_b, 64, 200))
            xi = x[0] if n_b == 1 else x
            ms = timeit(lambda: est.music_2d(xi, n_sources=2, geometry=geo, wavelength_m=1.0, azimuth_grid_rad=grid,
                                             elevation_grid_rad=grid, return_spectrum=False), repeat)
            base_ms = ms if base_ms is None else base_ms
            report(case, f"{name} {ms / base_ms:.2f}x", ms, None)


def case_angle_delay(rng, trials, repeat):
    """Single OFDM snapshot, 16 antennas x 64 subcarriers, 2-D smoothing (8, 32)."""
    m, nk, df = 16, 64, 120e3
    az = np.deg2rad(np.array([-12.4, 20.9]))
    tau = np.array([95e-9, 260e-9])
    mu_a, mu_t = np.pi * np.sin(az), -2 * np.pi * df * tau
    clean = sum(np.outer(np.exp(1j * a * np.arange(m)), np.exp(1j * t * np.arange(nk))) for a, t in zip(mu_a, mu_t))
    x = clean + cnoise(rng, (trials, m, nk), 0.3)
    g_az = np.linspace(-np.pi / 2, np.pi / 2, 181)
    g_tau = np.linspace(0.0, 1.0 / df, 200, endpoint=False)
    grids = [np.pi * np.sin(g_az), -2 * np.pi * df * g_tau]
    sub = (8, 32)
    case = "angle x delay MUSIC 16x64 OFDM, 181x200"

    r = est.music_nd(x, n_sources=2, grids=grids, subarray_shape=sub, forward_backward=True, return_spectrum=False)
    ea = np.rad2deg(np.sqrt(np.mean((np.arcsin(r.estimates[..., 0] / np.pi) - az) ** 2)))
    et = 1e9 * np.sqrt(np.mean(((r.estimates[..., 1] - mu_t) / (2 * np.pi * df)) ** 2))
    report(case, "estimators.music_nd (separable)",
           timeit(lambda: est.music_nd(x[0], n_sources=2, grids=grids, subarray_shape=sub, forward_backward=True), repeat),
           ea, f"deg, delay {et:.3f} ns")

    a_f = np.exp(1j * np.outer(np.arange(sub[0]), grids[0]))
    t_f = np.exp(1j * np.outer(np.arange(sub[1]), grids[1]))

    def textbook(xi):
        xs = est.multidimensional_smoothing(xi, subarray_shape=sub, forward_backward=True)
        steer = (a_f[:, None, :, None] * t_f[None, :, None, :]).reshape(sub[0] * sub[1], -1)   # materialised
        r_cov = xs @ xs.conj().T / xs.shape[1]
        _, v = np.linalg.eigh(r_cov)
        en = v[:, :-2]
        spec = (1.0 / np.sum(np.abs(en.conj().T @ steer) ** 2, axis=0)).reshape(181, 200)
        idx = peaks2d_textbook(spec, 2)
        ia, it = np.unravel_index(idx, spec.shape)
        o = np.argsort(grids[0][ia])
        return np.c_[grids[0][ia][o], grids[1][it][o]]

    n_tb = max(2, trials // 10)
    tb = np.stack([textbook(xi) for xi in x[:n_tb]])
    ea = np.rad2deg(np.sqrt(np.mean((np.arcsin(tb[..., 0] / np.pi) - az) ** 2)))
    et = 1e9 * np.sqrt(np.mean(((tb[..., 1] - mu_t) / (2 * np.pi * df)) ** 2))
    report(case, "textbook NumPy (materialised)", timeit(lambda: textbook(x[0]), max(2, repeat // 10)), ea,
           f"deg, delay {et:.3f} ns")


def case_batches(rng, n_batch, repeat):
    m, n = 16, 200
    g = ula(m, 0.5)
    az = np.deg2rad(np.array([-20.3, 10.7, 35.2]))
    x = steering_vector(g, az, wavelength_m=1.0) @ cnoise(rng, (n_batch, 3, n)) + cnoise(rng, (n_batch, m, n))
    grid = np.linspace(-np.pi / 2, np.pi / 2, 3600)
    cases = [
        ("root_music", lambda d: est.root_music(d, n_sources=3)),
        ("esprit", lambda d: est.esprit(d, n_sources=3)),
        ("unitary_esprit", lambda d: est.unitary_esprit(d, n_sources=3)),
        ("music (G=3600)", lambda d: est.music(d, n_sources=3, geometry=g, wavelength_m=1.0, grid=grid,
                                               return_spectrum=False)),
    ]
    for name, fn in cases:
        case = f"batch {n_batch} x (M={m}, N={n}) {name}"
        t_b = timeit(lambda: fn(x), max(1, repeat // 10))
        t_l = timeit(lambda: [fn(xi) for xi in x], 1)
        report(case, "one batched call", t_b, None)
        report(case, f"loop of single calls ({t_l / t_b:.1f}x slower)", t_l, None)
    # The CPU floor of any batched subspace estimator: the batched sample covariance and the
    # batched Hermitian eigendecomposition alone (NumPy/LAPACK, no estimator code at all).
    xh = np.conj(np.swapaxes(x, -1, -2))
    t_f = timeit(lambda: np.linalg.eigh(x @ xh / n), max(1, repeat // 10))
    report(f"batch {n_batch} x (M={m}, N={n}) floor", "covariance + eigh only (NumPy, batched)", t_f, None)


def case_gpu(n_batch, repeat):
    """The batch and tensor cases on CuPy (one GPU), timed to a host copy of the estimates."""
    from sensing import namespace_for_backend, to_numpy

    xp = namespace_for_backend("cupy")
    rng = np.random.default_rng(1)
    m, n = 16, 200
    g = ula(m, 0.5)
    az = np.deg2rad(np.array([-20.3, 10.7, 35.2]))
    x = steering_vector(g, az, wavelength_m=1.0) @ cnoise(rng, (n_batch, 3, n)) + cnoise(rng, (n_batch, m, n))
    xg = xp.asarray(x)
    grid = np.linspace(-np.pi / 2, np.pi / 2, 3600)
    gg = xp.asarray(grid)
    for name, fn, data in (
        ("root_music", lambda d: est.root_music(d, n_sources=3), None),
        ("esprit", lambda d: est.esprit(d, n_sources=3), None),
        ("unitary_esprit", lambda d: est.unitary_esprit(d, n_sources=3), None),
        ("music (G=3600)", lambda d: est.music(d, n_sources=3, geometry=g, wavelength_m=1.0,
                                               grid=gg if isinstance(d, type(xg)) else grid,
                                               return_spectrum=False), None),
    ):
        case = f"batch {n_batch} x (M={m}, N={n}) {name}"
        t_gpu = timeit(lambda: to_numpy(fn(xg).estimates), max(2, repeat // 5))
        t_cpu = timeit(lambda: fn(x).estimates, max(1, repeat // 10))
        err = float(np.max(np.abs(to_numpy(fn(xg).estimates) - fn(x).estimates)))
        report(case, f"CuPy batched (max |GPU-CPU| {err:.1e})", t_gpu, None)
        report(case, "NumPy batched (same machine)", t_cpu, None)
        # loops of single calls, timed on the first n_loop problems and scaled to the batch
        n_loop = min(n_batch, 100)
        scale = n_batch / n_loop
        t_lg = scale * timeit(lambda: [to_numpy(fn(xg[i]).estimates) for i in range(n_loop)], 1)
        t_lc = scale * timeit(lambda: [fn(x[i]).estimates for i in range(n_loop)], 1)
        report(case, f"CuPy loop of single calls (x{scale:g} of {n_loop}; {t_lg / t_gpu:.0f}x the batch)", t_lg, None)
        report(case, f"NumPy loop of single calls (x{scale:g} of {n_loop}; {t_lc / t_gpu:.0f}x the GPU batch)",
               t_lc, None)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=1, help="BLAS/numba threads (default: %(default)s)")
    p.add_argument("--trials", type=int, default=40, help="noise draws per RMSE (default: %(default)s)")
    p.add_argument("--repeat", type=int, default=20, help="timed repeats per case (default: %(default)s)")
    p.add_argument("--batch", type=int, default=1000, help="trials in the batch case (default: %(default)s)")
    p.add_argument("--quick", action="store_true", help="few repeats and trials")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--gpu-only", action="store_true", help="only the CuPy batch cases (needs a CUDA GPU)")
    args = p.parse_args(argv)
    if args.quick:
        args.trials, args.repeat, args.batch = 8, 5, 200
    try:
        import pyroomacoustics as pra
    except ImportError:
        pra = None
        print("pyroomacoustics not installed: its column is skipped (pip install pyroomacoustics)")
    _limits = threadpool_limits(args.threads) if threadpool_limits is not None else None  # noqa: F841
    rng = np.random.default_rng(args.seed)
    if args.gpu_only:
        case_gpu(args.batch, args.repeat)
        return 0
    print(f"subspace benchmark: {args.threads} BLAS/numba thread(s), numpy {np.__version__}, "
          f"{args.trials} trials per RMSE, median of {args.repeat} repeats")
    case_music_1d(rng, args.trials, args.repeat, pra)
    case_root_esprit(rng, args.trials, args.repeat)
    case_music_2d(rng, args.trials, args.repeat)
    case_music_2d_lattice(rng, args.repeat)
    case_angle_delay(rng, args.trials, args.repeat)
    case_batches(rng, args.batch, args.repeat)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
