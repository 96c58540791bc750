"""PLAIN against the uncompressed, sequential and joint estimators on the released example.

The released example of Tahir, Svoboda, Rupp (arXiv:2503.21242, Sec. V, and its reference code's `main.m`) through
``scenarios.isac_ofdm.plain_preset()``: 26 GHz, 16-antenna ULA, 180 subcarriers × 560 symbols,
6 objects, BPSK data, UMa-LoS path loss. For every method it prints the median wall time per call
(after a warm-up call) and the RMSE per dimension over optimally matched estimates (Hungarian
assignment on resolution-scaled distances, pooled over paths and realisations), next to both
CRBs, then the performance targets:

* PLAIN ≥ 50× faster than the uncompressed estimator at ≤ 1.2× its RMSE,
* PLAIN ≥ 10× faster than the joint baseline,
* PLAIN ≤ 0.1 s per call.

It also prints PLAIN's per-path velocity RMSE against the per-path CRB (the static objects share
one Doppler candidate, see the closing note).

    OMP_NUM_THREADS=1 python benchmarks/bench_plain.py                  # 5 realisations, 0 and 10 dB
    python benchmarks/bench_plain.py --realisations 2 --snr 10 --skip-uncompressed
    python benchmarks/bench_plain.py --backend cupy      # estimators on the GPU (data moved first)
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import replace

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("NUMBA_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from estimators import (  # noqa: E402
    crb_plain_joint,
    crb_plain_per_dimension,
    joint_esprit_estimator,
    plain,
    sequential_estimator,
)
from scenarios.isac_ofdm import generate, plain_preset  # noqa: E402
from sensing import asarray_like, is_cupy_array, match_estimates, namespace_for_backend  # noqa: E402

DELTAS = (1, 4, 14)


def methods(skip_uncompressed: bool, host: bool = True):
    out = [
        ("PLAIN averaging + Tensor-OMP", lambda h, a, n: plain(h, geometry=a, numerology=n, compression="averaging", deltas=DELTAS,
                                                                n_objects=6)),
        ("PLAIN averaging + Tensor-LS", lambda h, a, n: plain(h, geometry=a, numerology=n, compression="averaging", deltas=DELTAS,
                                                               n_objects=6, fusion="ls")),
        ("PLAIN decimation + Tensor-OMP", lambda h, a, n: plain(h, geometry=a, numerology=n, compression="decimation", deltas=DELTAS,
                                                                 n_objects=6)),
    ]
    if not skip_uncompressed:
        out.append(("uncompressed (PLAIN, no compression)",
                    lambda h, a, n: plain(h, geometry=a, numerology=n, compression="none", n_objects=6)))
        if host:
            out.append(("uncompressed, numpy.roots (as reference)",
                        lambda h, a, n: plain(h, geometry=a, numerology=n, compression="none", n_objects=6, root_finder="numpy")))
            out.insert(1, ("PLAIN averaging, numpy.roots", lambda h, a, n: plain(
                h, geometry=a, numerology=n, compression="averaging", deltas=DELTAS, n_objects=6, root_finder="numpy")))
    out += [
        ("sequential (averaging)", lambda h, a, n: sequential_estimator(h, geometry=a, numerology=n, compression="averaging",
                                                                         deltas=DELTAS, n_objects=6)),
        ("joint 3-D Unitary ESPRIT (averaging)", lambda h, a, n: joint_esprit_estimator(
            h, geometry=a, numerology=n, compression="averaging", deltas=DELTAS, n_objects=6)),
    ]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--realisations", type=int, default=5)
    p.add_argument("--snr", type=float, nargs="+", default=[0.0, 10.0])
    p.add_argument("--skip-uncompressed", action="store_true")
    p.add_argument("--backend", choices=["numpy", "cupy"], default="numpy")
    args = p.parse_args(argv)
    xp = namespace_for_backend(args.backend)

    cfg = plain_preset()
    num, arr = cfg.numerology(), cfg.array()
    scale = np.array([2.0 / cfg.n_antennas, 299_792_458.0 / num.bandwidth_hz,
                      299_792_458.0 / (num.observation_time_s * cfg.carrier_hz)])  # one resolution cell each
    meths = methods(args.skip_uncompressed, host=args.backend == "numpy")
    ds0 = generate(replace(cfg, snr_db=10.0), rng=0)
    h0 = asarray_like(ds0.channel_estimate, xp)
    failed = {}
    for name, fn in meths:                                           # warm-up (numba, caches)
        try:
            fn(h0, arr, num)
        except (TypeError, ValueError, NotImplementedError) as exc:  # e.g. no general eig on CuPy
            failed[name] = f"{type(exc).__name__}: {exc}"
            print(f"{name}: not run on {args.backend} ({failed[name][:160]})")
    meths = [(n, f) for n, f in meths if n not in failed]

    summary = {}
    for snr in args.snr:
        print(f"\n=== SNR {snr:g} dB, {args.realisations} realisations (seeds 0..{args.realisations - 1}) ===")
        data = [generate(replace(cfg, snr_db=snr), rng=r) for r in range(args.realisations)]
        crb = {}
        for name, fn in (("per-dimension CRB (reference code)", crb_plain_per_dimension),
                         ("joint CRB (all parameters)", crb_plain_joint)):
            v = [fn(d.paths, geometry=arr, numerology=num, noise_variance=d.noise_variance) for d in data]
            crb[name] = [np.sqrt(np.mean([getattr(b, f) for b in v])) for f in
                         ("azimuth_rad2", "distance_m2", "velocity_m2ps2")]
        print(f"{'method':40s} {'time/call':>10s} {'AoA [deg]':>11s} {'dist [m]':>10s} {'vel [m/s]':>10s} "
              f"{'missed':>7s}")
        for name, fn in meths:
            times, errs, missed, per_path = [], [], 0, []
            for d in data:
                h = asarray_like(d.channel_estimate, xp)
                if is_cupy_array(h):
                    h.device.synchronize()
                t0 = time.perf_counter()
                res = fn(h, arr, num)
                if is_cupy_array(res.gains):
                    res.gains.device.synchronize()
                times.append(time.perf_counter() - t0)
                r = res.to_numpy()
                est = np.stack([r.azimuths_rad, r.path_lengths_m, r.velocities_mps], axis=-1)
                tru = np.stack([d.truth.azimuths_rad, d.truth.distances_m, d.truth.velocities_mps], axis=-1)
                m = match_estimates(est, tru, scale=scale, p=2)
                errs.append(m.errors)
                missed += m.n_missed
                e = np.full((6, 3), np.nan)
                e[m.truth_index] = m.errors
                per_path.append(e)
            e = np.concatenate(errs)
            rm = np.sqrt(np.mean(e ** 2, axis=0))
            t = float(np.median(times))
            summary[(snr, name)] = (t, rm, np.asarray(per_path))
            print(f"{name:40s} {t:9.4f}s {np.rad2deg(rm[0]):11.5f} {rm[1]:10.5f} {rm[2]:10.6f} {missed:7d}")
        for name, c in crb.items():
            print(f"{name:40s} {'':>10s} {np.rad2deg(c[0]):11.5f} {c[1]:10.5f} {c[2]:10.6f}")

        # per-path velocity: PLAIN vs the per-path joint bound
        pp = summary[(snr, meths[0][0])][2]
        bounds = np.mean([crb_plain_joint(d.paths, geometry=arr, numerology=num, noise_variance=d.noise_variance).velocity_m2ps2
                          for d in data], axis=0)
        print("PLAIN velocity RMSE per path [m/s] (true v):   " + "  ".join(
            f"{np.sqrt(np.nanmean(pp[:, i, 2] ** 2)):.6f} ({v:4.1f})" for i, v in enumerate(cfg.velocities_mps)))
        print("joint CRB per path [m/s]:                      " + "  ".join(
            f"{np.sqrt(b):.6f}       " for b in bounds))

    print("\n=== goals ===")
    for snr in args.snr:
        t_p, rm_p, _ = summary[(snr, meths[0][0])]
        print(f"SNR {snr:g} dB: PLAIN {t_p * 1e3:.1f} ms per call (goal <= 100 ms: "
              f"{'met' if t_p <= 0.1 else 'NOT met'})")
        for unc_name, ref_name in (("uncompressed (PLAIN, no compression)", meths[0][0]),
                                   ("uncompressed, numpy.roots (as reference)", "PLAIN averaging, numpy.roots")):
            if (snr, unc_name) not in summary:
                continue
            t_u, rm_u, _ = summary[(snr, unc_name)]
            t_r, rm_r, _ = summary[(snr, ref_name)]
            ratio = rm_r / rm_u
            ok = t_u / t_r >= 50 and np.all(ratio <= 1.2)
            print(f"  {ref_name} vs {unc_name}: {t_u / t_r:.0f}x faster, RMSE ratio (AoA, dist, vel) = "
                  f"({ratio[0]:.2f}, {ratio[1]:.2f}, {ratio[2]:.2f}) (goal >= 50x at <= 1.2x: "
                  f"{'met' if ok else 'NOT met'})")
        jn = next((k for k in summary if k[0] == snr and k[1].startswith("joint")), None)
        if jn:
            t_j = summary[jn][0]
            print(f"  vs joint ESPRIT: {t_j / t_p:.0f}x faster (goal >= 10x: "
                  f"{'met' if t_j / t_p >= 10 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
