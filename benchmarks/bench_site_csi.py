"""Site-specific CSI benchmark: city-model throughput, PMI search and SiFo inference per user.

Prints wall time with quality next to it:

* site generation: users x antennas x subbands per second of :func:`channels.city_channel`
  (paths + CSI), split into path tracing and CFR synthesis;
* PMI search per user: Type-I (mode 1, subband i2) and Type-II (L = 4) on 32 ports, the
  generalised 64-port DFT-subspace codebook; with the capture efficiency / beamforming gain;
* SiFo inference per user (fingerprint -> subspace -> quantised d-port feedback) with its
  capture efficiency against the ideal subspace of the same size.

    OMP_NUM_THREADS=1 NUMBA_NUM_THREADS=2 python benchmarks/bench_site_csi.py
    python benchmarks/bench_site_csi.py --quick       # smaller sizes
"""

from __future__ import annotations

import argparse
import os
import time
import warnings

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from channels import city_channel, city_paths, city_site, city_site_names, sample_user_positions  # noqa: E402
from estimators import (  # noqa: E402
    SiFoConfig,
    SiteData,
    beamforming_gain,
    capture_efficiency,
    dft_subspace_codebook,
    sifo,
    sifo_calibrate,
    sifo_pretrain,
    type1_codebook,
    type2_codebook,
)
from sensing import rsrp_fingerprint, ssb_codebook, ssb_rsrp  # noqa: E402


def _best(fn, repeat):
    best, out = np.inf, None
    for _ in range(repeat):
        t0 = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t0)
    return best, out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="small sizes")
    p.add_argument("--repeat", type=int, default=2)
    args = p.parse_args(argv)
    import numba

    n_gen = 2000 if args.quick else 10_000
    n_pmi = 500 if args.quick else 2000
    print(f"numba threads {numba.get_num_threads()}, OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS')}")

    # ---------------------------------------------------------------- site generation
    site = city_site("manhattan", n1=8, n2=4)                                # 64 ports (8x4 dual-pol)
    pos = sample_user_positions(site, n_gen, rng=0)
    city_channel(site, pos[:50], n_subbands=52)                               # warm-up (numba)
    t_paths, _ = _best(lambda: city_paths(site, pos), args.repeat)
    t_all, ch = _best(lambda: city_channel(site, pos, n_subbands=52), args.repeat)
    entries = n_gen * site.n_ports * 52
    print(f"\nsite generation ({site.name}, {n_gen} users x {site.n_ports} antennas x 52 subbands, "
          f"{ch.paths.n_paths} paths/user max):")
    print(f"  total {t_all:.2f} s  (paths {t_paths:.2f} s, CFR {t_all - t_paths:.2f} s)  "
          f"-> {entries / t_all / 1e6:.1f} M users*antennas*subbands/s")

    # ---------------------------------------------------------------- PMI search
    s32 = city_site("plaza")
    h32 = city_channel(s32, sample_user_positions(s32, n_pmi, rng=1), n_subbands=13).csi
    h64 = city_channel(site, pos[:n_pmi], n_subbands=13).csi
    print(f"\nPMI search per user ({n_pmi} users, 13 subbands):")
    cases = [("Type-I 32 ports (mode 1, subband i2)", type1_codebook(4, 4), h32, {"subband": True}),
             ("Type-II 32 ports, L=4, 8PSK, sb amp", type2_codebook(4, 4, n_beams=4), h32, {}),
             ("DFT-subspace 64 ports, L=4", dft_subspace_codebook(8, 4, n_beams=4), h64, {})]
    for label, cb, h, kw in cases:
        cb.pmi_search(h[:10], **kw)                                          # warm-up
        t, pmi = _best(lambda: cb.pmi_search(h, **kw), args.repeat)
        w = cb.reconstruct(pmi)[..., 0]
        g = np.mean(beamforming_gain(h, w))
        extra = ""
        if hasattr(cb, "basis"):
            extra = f", capture {np.mean(capture_efficiency(h, cb.basis(pmi))):.3f}"
        print(f"  {label:40s} {1e3 * t / n_pmi:7.3f} ms/user  (BF gain {g:.3f}{extra})")

    # ---------------------------------------------------------------- SiFo inference
    cfg = SiFoConfig(hidden_layer_sizes=(64,), max_iter=100)
    ssb = ssb_codebook(4, 4, n_beams_h=4, n_beams_v=2)
    rng = np.random.default_rng(2)
    n_site = 300 if args.quick else 800
    sites = []
    for name in city_site_names()[:5]:
        s = city_site(name)
        c = city_channel(s, sample_user_positions(s, n_site if name != "plaza" else n_pmi + 200, rng=rng))
        fp = rsrp_fingerprint(ssb_rsrp(c.csi, ssb, tx_power_dbm=18.0, noise_std_db=1.0, rng=rng))
        sites.append(SiteData(name, fp, c.csi))
    tgt = next(s for s in sites if s.name == "plaza")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t_pre, model = _best(lambda: sifo_pretrain([s for s in sites if s is not tgt], config=cfg, rng=0), 1)
    mem = sifo_calibrate(tgt.fingerprints[:100], tgt.channels[:100], config=cfg)
    q_fp, q_h = tgt.fingerprints[200:200 + n_pmi], tgt.channels[200:200 + n_pmi]
    sifo(model, mem, q_fp[:10], q_h[:10])
    t_inf, (inf, fb) = _best(lambda: sifo(model, mem, q_fp, q_h), args.repeat)
    eta = np.mean(capture_efficiency(q_h, inf.basis))
    print(f"\nSiFo (pretrained on 4 sites in {t_pre:.1f} s, memory of 100 target users):")
    print(f"  inference + d=8 feedback  {1e3 * t_inf / len(q_fp):7.3f} ms/user  (capture {eta:.3f}, "
          f"BF gain {np.mean(beamforming_gain(q_h, fb.precoder)):.3f}, {fb.bits.mean():.0f} bits)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
