"""CSI-synthesis throughput: paths -> CFR entries per second.

Compares the numba kernel (``method="numba"``), the separable matmul form in the array namespace
(``method="xp"``, also what CuPy runs) and the plain-NumPy twin (full phase tensor, textbook
sum) that the tests check the kernel against. Prints wall time, throughput and the maximum
relative deviation from the twin per case.

    python benchmarks/bench_cfr.py            # CPU cases
    python benchmarks/bench_cfr.py --gpu      # add CuPy timings (needs a CUDA GPU)
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from channels import Paths, cfr_from_paths  # noqa: E402
from channels._cfr import array_phases  # noqa: E402
from channels._reference import cfr_reference  # noqa: E402
from sensing import Numerology, ula, upa  # noqa: E402

CASES = [  # (label, n_links, n_paths, array, n_subcarriers, n_symbols)
    ("ISAC 16x180x560, 6 paths", 1, 6, ("ula", 16), 180, 560),
    ("ISAC 8x64x32 x1000 links, 3 paths", 1000, 3, ("ula", 8), 64, 32),
    ("site CSI 64 ant x 52 sb, 2000 users, 20 paths", 2000, 20, ("upa", 8), 52, 1),
]


def _paths(rng, n_b, n_p):
    s = (n_b, n_p)
    return Paths(rng.standard_normal(s) + 1j * rng.standard_normal(s), rng.uniform(0, 2e-6, s),
                 rng.uniform(-2e3, 2e3, s), rng.uniform(-1.2, 1.2, s), rng.uniform(-0.3, 0.3, s),
                 np.zeros(s), np.zeros(s))


def _time(fn, repeat):
    fn()  # warm-up (numba compile, caches)
    best = np.inf
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--gpu", action="store_true", help="also time CuPy (method='xp' on device)")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    import numba

    print(f"numba threads: {numba.get_num_threads()}, numpy {np.__version__}")
    rng = np.random.default_rng(0)
    hdr = f"{'case':48s} {'method':8s} {'time [ms]':>10s} {'Mentries/s':>11s} {'speed-up':>9s} {'max rel err':>12s}"
    print(hdr)
    print("-" * len(hdr))
    for label, n_b, n_p, (kind, m), n_k, n_t in CASES:
        num = Numerology(28e9, 120e3, n_k, n_t)
        arr = ula(m, num.wavelength_m / 2) if kind == "ula" else upa(m, m, num.wavelength_m / 2)
        paths = _paths(rng, n_b, n_p)
        n_entries = n_b * arr.n_elements * n_k * n_t
        rx = array_phases(arr, paths.aoa_az_rad, paths.aoa_el_rad, wavelength_m=num.wavelength_m)

        # the twin materialises (links, paths, R, K, T): cap its size, time a slice and scale
        n_twin = max(1, min(n_b, int(2e7 // (n_p * arr.n_elements * n_k * n_t))))
        t_twin, ref = _time(lambda: cfr_reference(paths.gains[:n_twin], rx[:n_twin], paths.delays_s[:n_twin],
                                                  paths.doppler_hz[:n_twin], num.subcarrier_frequencies_hz,
                                                  num.symbol_times_s), 1)
        t_twin *= n_b / n_twin
        rows = [("twin", t_twin, None)]
        for method in ("numba", "xp"):
            t, out = _time(lambda: cfr_from_paths(paths, arr, num, method=method), args.repeat)
            err = np.max(np.abs(out[:n_twin] - ref)) / np.max(np.abs(ref))
            rows.append((method, t, err))
        if args.gpu:
            import cupy as cp

            gp = Paths(*(cp.asarray(getattr(paths, f)) for f in ("gains", "delays_s", "doppler_hz", "aoa_az_rad",
                                                                   "aoa_el_rad", "aod_az_rad", "aod_el_rad")))

            def run_gpu():
                out = cfr_from_paths(gp, arr, num)
                cp.cuda.get_current_stream().synchronize()
                return out

            t, out = _time(run_gpu, args.repeat)
            err = float(cp.max(cp.abs(out[:n_twin] - cp.asarray(ref))) / np.max(np.abs(ref)))
            rows.append(("cupy", t, err))
        for method, t, err in rows:
            e = "(reference)" if err is None else f"{err:.1e}"
            print(f"{label:48s} {method:8s} {1e3 * t:10.1f} {n_entries / t / 1e6:11.1f} {t_twin / t:8.1f}x {e:>12s}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
