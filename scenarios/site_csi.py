r"""Site-specific CSI feedback over ten city sites: SiFo vs per-site learning vs 3GPP Type-II/I.

Data flow (experiments for the three claims of C.-J. Zhao, Z. Wang, Z. Zhao, Y. Liu, "SiFo: Wireless
Foundation Model for Low-Overhead Site-Specific CSI Feedback," arXiv:2605.16141):

1. **Site datasets.** For every site of :func:`channels.city_site_names` (ten by default):
   users in the BS sector (:func:`channels.sample_user_positions`), CSI and ground-truth paths
   (:func:`channels.city_channel`), the SSB beam sweep with measurement noise
   (:func:`sensing.ssb_rsrp`) and the quantised relative RSRP fingerprint
   (:func:`sensing.rsrp_fingerprint`); each site is written to ``datasets/<site>.h5``
   (:func:`sensing.save_dataset`).
2. **Leave one site out.** For every target site, :func:`estimators.leave_one_site_out`
   pretrains SiFo on the other sites, calibrates on ``budgets`` labelled target users and
   evaluates SiFo (model + memory, kNN-only, zero-shot), the per-site MLP on the same budget,
   Type-II, Type-I and the ideal eigen-subspace on held-out target users. One target is one
   point of :func:`sensing.run_sweep` (resumable, parallel with ``--workers``); per-user results
   go to ``loso/<site>.h5``.
3. **Figures and tables** (``sensing.plotting``): capture efficiency vs labelled target users,
   per-site bars, the CDF over users, effective SE vs SNR, and the overhead table
   (``overhead.csv``), each figure with its CSV.

``--quick`` runs four small sites with a small model, for CI.
"""

from __future__ import annotations

import json
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from . import _kit

DESCRIPTION = ("Site-specific CSI feedback: SiFo vs per-site learning vs 3GPP Type-II/Type-I "
               "over ten city sites (leave-one-site-out)")

__all__ = ["SiteCsiConfig", "SiteDataset", "LosoRecord", "quick_config", "generate_site", "DESCRIPTION",
           "FLAGS", "add_arguments", "config_from_args", "run"]


@dataclass(frozen=True)
class SiteCsiConfig:
    """Configuration of the site-CSI experiment (SI units; an FR1 NR set-up with a
    Type-II-compatible BS array)."""

    sites: tuple[str, ...] = ("manhattan", "old-town", "suburb", "plaza", "riverside", "campus",
                              "cbd-towers", "boulevard", "harbour", "industrial")
    n_users: int = 1200
    carrier_hz: float = 3.5e9                 # FR1 3.5 GHz
    n1: int = 4                               # 4 x 4 dual-polarised UPA: 32 ports (Type-II limit)
    n2: int = 4
    n_subbands: int = 13                      # 52 PRB in subbands of 4 PRB
    prbs_per_subband: int = 4
    subcarrier_spacing_hz: float = 30e3       # SCS 30 kHz
    ssb_beams_h: int = 4                      # N_SSB = 8 (L_max = 8 in FR1)
    ssb_beams_v: int = 2
    ssb_power_dbm: float = 18.0               # SSB EPRE
    rsrp_noise_db: float = 1.0                # RSRP measurement error (std, dB)
    quantize_fingerprint: bool = True         # L1-RSRP report quantisation (7-bit + 4-bit)
    n_beams: int = 4                          # L (Type-II and SiFo: d = 2L ports)
    k_neighbors: int = 8
    hidden_layer_sizes: tuple[int, ...] = (128, 64)
    max_iter: int = 300
    n_components: int = 32
    episodes_per_site: int = 4
    budgets: tuple[int, ...] = (10, 30, 100, 300)   # N_cal (labelled target users) from 10 upwards
    n_test: int = 400
    snr_db: tuple[float, ...] = (-10.0, -5.0, 0.0, 5.0, 10.0, 15.0, 20.0)
    se_budget: int = 30                       # "limited target data" for the SE / CDF / bar figures
    coherence_res: float = 840.0              # 12 x 14 x 5 slots REs per PRB
    uplink_bits_per_re: float = 2.0           # uplink spectral efficiency for the feedback term

    def sifo_config(self):
        from estimators import SiFoConfig

        return SiFoConfig(n1=self.n1, n2=self.n2, n_beams=self.n_beams, k_neighbors=self.k_neighbors,
                          hidden_layer_sizes=tuple(self.hidden_layer_sizes), max_iter=self.max_iter,
                          n_components=self.n_components, episodes_per_site=self.episodes_per_site,
                          min_memory=min(10, max(2, self.n_users // 20)))

    def __post_init__(self):
        from channels import city_site_names
        from sensing import check_float, check_int

        if len(self.sites) < 2:
            raise ValueError(f"`sites` must name at least two sites (sources and a target); got {self.sites!r}.")
        known = city_site_names()
        for s in self.sites:
            if s not in known:
                raise ValueError(f"`sites` entries must be built-in sites ({', '.join(known)}); got {s!r}.")
        check_int(self.n_users, "n_users", low=40)
        pool = self.n_users // 2
        for b in self.budgets:
            check_int(b, "budgets", low=1, high=pool, why=f"half of the {self.n_users} users form the pool")
        if self.se_budget not in self.budgets:
            raise ValueError(f"`se_budget` must be one of `budgets` {self.budgets}; got {self.se_budget}.")
        check_float(self.rsrp_noise_db, "rsrp_noise_db", low=0.0)
        # the Type-II baseline's beam count rules (TS 38.214), checked now rather than after the
        # site datasets have been generated
        from estimators import type2_codebook

        type2_codebook(self.n1, self.n2, n_beams=self.n_beams)


def quick_config() -> SiteCsiConfig:
    """Four small sites and a small model: the CI configuration.

    Examples
    --------
    >>> from scenarios import site_csi
    >>> cfg = site_csi.quick_config()
    >>> cfg.sites
    ('suburb', 'plaza', 'campus', 'boulevard')
    """
    return SiteCsiConfig(sites=("suburb", "plaza", "campus", "boulevard"), n_users=160, n_subbands=4,
                         hidden_layer_sizes=(16,), max_iter=60, n_components=8, episodes_per_site=2,
                         budgets=(10, 40), n_test=60, snr_db=(0.0, 10.0), se_budget=10)


@dataclass(frozen=True)
class SiteDataset:
    """One site's users (written to ``datasets/<site>.h5``).

    Attributes
    ----------
    site, description : str
    positions_m : ndarray, shape (n_users, 3)
    los : ndarray of bool, shape (n_users,)
    csi : ndarray, shape (n_users, n_ports, n_subbands), complex
        :math:`\\mathbf h_s` (TS 38.214 port order;
        :math:`y = \\mathbf h_s^H\\mathbf w x`).
    frequencies_hz : ndarray, shape (n_subbands,)
    rsrp_dbm : ndarray, shape (n_users, n_ssb)
        Measured SS-RSRP per SSB beam (with measurement error).
    fingerprints : ndarray, shape (n_users, n_ssb)
        Relative (and quantised) fingerprints [dB].
    ssb_beams : ndarray, shape (n1 n2, n_ssb), complex
    paths : channels.Paths
        Ground truth, (n_users, max_paths).
    polarization : ndarray, shape (n_users, max_paths, 2), complex
    path_kind : ndarray of int8, shape (n_users, max_paths)
    config : SiteCsiConfig
    """

    site: str
    description: str
    positions_m: np.ndarray = field(repr=False)
    los: np.ndarray = field(repr=False)
    csi: np.ndarray = field(repr=False)
    frequencies_hz: np.ndarray = field(repr=False)
    rsrp_dbm: np.ndarray = field(repr=False)
    fingerprints: np.ndarray = field(repr=False)
    ssb_beams: np.ndarray = field(repr=False)
    paths: object = field(repr=False)
    polarization: np.ndarray = field(repr=False)
    path_kind: np.ndarray = field(repr=False)
    config: SiteCsiConfig = field(repr=False)


def generate_site(config: SiteCsiConfig, site: str, *, rng=None) -> SiteDataset:
    """Users, CSI, paths and SSB fingerprints of one site (deterministic for a given ``rng``).

    Examples
    --------
    >>> from dataclasses import replace
    >>> from scenarios import site_csi
    >>> cfg = replace(site_csi.quick_config(), n_users=40, budgets=(10, 20))
    >>> ds = site_csi.generate_site(cfg, "plaza", rng=0)
    >>> ds.site, ds.csi.shape, ds.fingerprints.shape, ds.positions_m.shape   # (users, ports, subbands), ...
    ('plaza', (40, 32, 4), (40, 8), (40, 3))
    """
    from channels import city_channel, city_site, sample_user_positions
    from sensing import check_rng, rsrp_fingerprint, ssb_codebook, ssb_rsrp

    rng = check_rng(rng)
    s = city_site(site, n1=config.n1, n2=config.n2, carrier_hz=config.carrier_hz)
    pos = sample_user_positions(s, config.n_users, rng=rng)
    ch = city_channel(s, pos, n_subbands=config.n_subbands, prbs_per_subband=config.prbs_per_subband,
                      subcarrier_spacing_hz=config.subcarrier_spacing_hz)
    ssb = ssb_codebook(config.n1, config.n2, n_beams_h=config.ssb_beams_h, n_beams_v=config.ssb_beams_v)
    rsrp = ssb_rsrp(ch.csi, ssb, tx_power_dbm=config.ssb_power_dbm, noise_std_db=config.rsrp_noise_db, rng=rng)
    fp = rsrp_fingerprint(rsrp, quantize=config.quantize_fingerprint)
    return SiteDataset(site, s.description, pos, ch.los, ch.csi, ch.frequencies_hz, rsrp, fp, ssb.beams,
                       ch.paths, ch.polarization, ch.path_kind, config)


@dataclass(frozen=True)
class LosoRecord:
    """Per-user results of one target site (written to ``loso/<site>.h5``).

    ``schemes`` and the keys of the per-scheme dicts are snake_case scheme ids (``"per_site"``,
    ``"sifo_knn"``, ...: :func:`estimators.leave_one_site_out`'s names with ``-`` -> ``_``), so
    every HDF5 group and dataset name is a key; display names are :data:`LABELS`.
    """

    target: str
    budgets: tuple[int, ...]
    schemes: tuple[str, ...]
    capture: dict = field(repr=False)          # scheme -> (n_budgets, n_test)
    gain: dict = field(repr=False)
    bf_power: dict = field(repr=False)         # scheme -> (n_budgets, n_test, n_subbands)
    feedback_bits: dict = field(repr=False)
    pilot_ports: dict = field(repr=False)
    test_users: np.ndarray = field(repr=False)
    calibration_pool: np.ndarray = field(repr=False)
    prior_weight: float = 0.0
    bandwidth: float = 0.0


# ------------------------------------------------------------------------------ tasks

def _config_from_json(text: str) -> SiteCsiConfig:
    d = json.loads(text)
    for k in ("sites", "hidden_layer_sizes", "budgets", "snr_db"):
        d[k] = tuple(d[k])
    return SiteCsiConfig(**d)


def _site_data(data_dir: Path, name: str):
    from estimators import SiteData
    from sensing import load_dataset

    ds = load_dataset(data_dir / f"{name}.h5", SiteDataset, classes=_dataset_classes())
    return SiteData(name, np.asarray(ds.fingerprints), np.asarray(ds.csi))


def _dataset_classes():
    from channels import Paths

    return (SiteDataset, SiteCsiConfig, Paths, LosoRecord)


def _loso_task(point: dict, rngs) -> dict:
    """One target site: pretrain on the others, calibrate, evaluate; per-user results to HDF5."""
    from estimators import leave_one_site_out, sifo_pretrain
    from sensing import save_dataset

    from sklearn.exceptions import ConvergenceWarning

    cfg = _config_from_json(point["config"])
    data_dir = Path(point["data_dir"])
    sites = [_site_data(data_dir, s) for s in cfg.sites]
    t = cfg.sites.index(point["target"])
    scfg = cfg.sifo_config()
    with warnings.catch_warnings():  # small budgets / --quick stop the MLPs early on purpose
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = sifo_pretrain([s for i, s in enumerate(sites) if i != t], config=scfg, rng=rngs.realisation)
        res = leave_one_site_out(sites, t, budgets=cfg.budgets, config=scfg, n_test=cfg.n_test, model=model,
                                 rng=rngs.noise)
    def keyed(d):
        return {_scheme_id(k): v for k, v in d.items()}

    rec = LosoRecord(res.target, res.budgets, tuple(_scheme_id(s) for s in res.schemes), keyed(res.capture),
                     keyed(res.gain), keyed(res.bf_power), keyed(res.feedback_bits), keyed(res.pilot_ports),
                     res.test_users, res.calibration_pool, model.prior_weight, model.bandwidth)
    save_dataset(Path(point["loso_dir"]) / f"{res.target}.h5", rec, attrs={"scenario": "site-csi"})
    out = {}
    for s in rec.schemes:
        for b, v in zip(rec.budgets, rec.capture[s].mean(axis=1)):
            out[f"capture_{s}_{b}"] = float(v)
    return out


def _scheme_id(name: str) -> str:
    """Scheme id (snake_case HDF5 key) of an :func:`estimators.leave_one_site_out` scheme name."""
    return name.replace("-", "_")


def _csv_column(scheme_id: str) -> str:
    """The CSV column of a scheme: its :func:`estimators.leave_one_site_out` name (``per-site``)."""
    return scheme_id.replace("_", "-")


def _keyed_record(rec: LosoRecord) -> LosoRecord:
    """``rec`` with snake_case scheme ids (files of earlier versions used the hyphenated names)."""
    from dataclasses import replace

    if all(s == _scheme_id(s) for s in rec.schemes):
        return rec
    return replace(rec, schemes=tuple(_scheme_id(s) for s in rec.schemes),
                   **{k: {_scheme_id(s): v for s, v in getattr(rec, k).items()}
                      for k in ("capture", "gain", "bf_power", "feedback_bits", "pilot_ports")})


# ------------------------------------------------------------------------------ terminal

FLAGS = {"n_users": "--users", "sites": "--sites", "budgets": "--budgets", "n_beams": "--beams",
         "snr_db": "--snr-db"}
"""Configuration field -> the flag that sets it, for messages."""


def config_from_args(args) -> SiteCsiConfig:
    """The preset (``--quick``: :func:`quick_config`) <- ``--config`` file <- the flags given
    (``--budgets`` without ``se_budget`` among them also moves ``se_budget`` to the second budget)."""
    from channels import city_site_names

    def flags_given(fields):
        over = {}
        if args.users is not None:
            over["n_users"] = args.users
        if args.sites is not None:
            over["sites"] = _kit.parse_names(args.sites, "--sites", city_site_names())
        if args.budgets is not None:
            over["budgets"] = tuple(_kit.parse_numbers(args.budgets, "--budgets", cast=int, low=1,
                                                       why="labelled target users"))
            if fields["se_budget"] not in over["budgets"]:
                over["se_budget"] = over["budgets"][min(1, len(over["budgets"]) - 1)]
        if args.beams is not None:
            over["n_beams"] = args.beams
        if args.snr_db is not None:
            over["snr_db"] = tuple(float(s) for s in args.snr_db)
        return over

    if args.backend != "numpy":
        raise ValueError("`--backend` must be 'numpy' for site-csi (scikit-learn runs on host memory); "
                         f"got {args.backend!r}.")
    return _kit.build_config(args, quick_config() if args.quick else SiteCsiConfig(), FLAGS, flags_given)


def add_arguments(p) -> None:
    p.add_argument("--users", type=int, default=None, help="users per site (default: 1200; quick: 160)")
    p.add_argument("--sites", type=str, default=None,
                   help="comma-separated built-in sites (default: the first ten; see channels.city_site_names)")
    p.add_argument("--budgets", type=str, default=None, help="labelled target users, e.g. '10,30,100,300'")
    p.add_argument("--beams", type=int, default=None, help="L beams per polarisation (default 4)")


def _effective_se(rec: LosoRecord, scheme: str, bi: int, cfg: SiteCsiConfig) -> np.ndarray:
    from estimators import effective_se_from_gains

    return effective_se_from_gains(rec.bf_power[scheme][bi], snr_db=np.asarray(cfg.snr_db),
                                   n_pilot_res=rec.pilot_ports[scheme], coherence_res=cfg.coherence_res,
                                   feedback_bits=rec.feedback_bits[scheme][bi], n_prb=cfg.n_subbands * cfg.prbs_per_subband,
                                   uplink_bits_per_re=cfg.uplink_bits_per_re)


LABELS = {"sifo": "SiFo (model + memory)", "sifo_knn": "SiFo kNN only", "sifo_zero_shot": "SiFo zero-shot",
          "per_site": "per-site MLP", "type2": "Type-II", "etype2": "enhanced Type-II", "type1": "Type-I",
          "ideal": "ideal eigen-subspace"}
"""Scheme id -> display name (the figures take theirs from :data:`sensing.plotting.METHOD_STYLES`)."""


def _figures(out, seed, cfg, recs, schemes, budgets, mean_cap, per_site, cdf, se) -> None:
    """The four figures, each with its ``<figure>_caption.txt`` (curves keyed by scheme id)."""
    from sensing.plotting import (
        METHOD_STYLES,
        figure_legend,
        figure_note,
        ieee_figure,
        integer_ticks,
        plot_rmse,
        save_figure,
        write_caption,
    )

    n_t = len(recs)
    size = f"{n_t} target sites (leave-one-site-out), {cfg.n_test} test users each"
    common = dict(seed=seed, target_sites=n_t, test_users_per_site=cfg.n_test, users_per_site=cfg.n_users)
    noise_free = ("capture efficiency from the true CSI (no SNR); fingerprints with RSRP error "
                  f"{cfg.rsrp_noise_db:g} dB std")
    main = tuple(x for x in ("sifo", "sifo_knn", "per_site", "type2", "etype2", "type1") if x in schemes)
    fig, ax = ieee_figure(height_ratio=0.8)
    plot_rmse(np.asarray(budgets, float), {s: mean_cap[s] for s in main},
              bounds={"ideal": mean_cap["ideal"]} if "ideal" in schemes else None, ax=ax,
              xlabel="labelled target-site users $N_{cal}$", ylabel="CSI-capture efficiency", logy=False,
              legend=False)
    ax.set_xscale("log")
    integer_ticks(ax, "x", budgets)
    figure_legend(fig)
    figure_note(fig, f"mean over {size}")
    save_figure(fig, out / "capture_vs_budget")
    write_caption(out / "capture_vs_budget", fig, snr_db="none", budgets=budgets, **common,
                  notes=[noise_free, "Type-II, enhanced Type-II, Type-I and the ideal subspace use no target labels "
                                     "(flat in N_cal)"])

    fig, ax = ieee_figure(columns=2, height_ratio=0.3)
    x = np.arange(n_t)
    w = 0.8 / len(per_site)
    for i, (s, v) in enumerate(per_site.items()):
        st = METHOD_STYLES[s]
        ax.bar(x + (i - (len(per_site) - 1) / 2) * w, v, w, label=st.label, color=st.color)
    ax.set_xticks(x, [r.target for r in recs], rotation=30, fontsize=6)
    ax.set(ylabel=f"capture ($N_{{cal}}$={cfg.se_budget})", ylim=(0, 1.05))
    ax.grid(True, axis="y", alpha=0.3)
    figure_legend(fig, loc="outside right upper", ncol=1)
    figure_note(fig, f"{cfg.n_test} test users per target site, $N_{{cal}}$ = {cfg.se_budget}")
    save_figure(fig, out / "capture_per_site")
    write_caption(out / "capture_per_site", fig, snr_db="none", n_cal=cfg.se_budget, **common, notes=[noise_free])

    fig, ax = ieee_figure(height_ratio=0.8)
    for s, (v, p) in cdf.items():
        kw = METHOD_STYLES[s].line_kwargs()
        ax.plot(v, p, markevery=max(1, v.size // 8), **kw)
    ax.set(xlabel="CSI-capture efficiency", ylabel="CDF over users", xlim=(0, 1))
    ax.grid(True, alpha=0.3)
    figure_legend(fig)
    figure_note(fig, f"{n_t * cfg.n_test} test users over {n_t} target sites (leave-one-site-out), "
                     f"$N_{{cal}}$ = {cfg.se_budget}")
    save_figure(fig, out / "capture_cdf")
    write_caption(out / "capture_cdf", fig, snr_db="none", n_cal=cfg.se_budget, **common, notes=[noise_free])

    fig, ax = ieee_figure(height_ratio=0.8)
    est = {s: v for s, v in se.items() if not METHOD_STYLES[s].bound}
    ref = {s: v for s, v in se.items() if METHOD_STYLES[s].bound}
    plot_rmse(np.asarray(cfg.snr_db, float), est, bounds=ref or None, ax=ax, ylabel="effective SE [bit/s/Hz]",
              logy=False, legend=False)
    figure_legend(fig)
    figure_note(fig, f"mean over {size}, $N_{{cal}}$ = {cfg.se_budget}")
    save_figure(fig, out / "se_vs_snr")
    write_caption(out / "se_vs_snr", fig, snr_db=cfg.snr_db, n_cal=cfg.se_budget, **common,
                  notes=["effective SE after the CSI-RS pilot and feedback overhead"])


def run(args) -> int:
    """Generate the site datasets, run leave-one-site-out, write figures, CSVs and the table."""
    from tqdm.auto import tqdm

    from estimators import overhead_table
    from sensing import load_dataset, save_dataset
    from sensing.plotting import write_csv

    cfg = config_from_args(args)
    out = _kit.output_dir(args, "site-csi")
    data_dir, loso_dir = out / "datasets", out / "loso"
    for d in (data_dir, loso_dir):
        d.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    print(f"site-csi: {len(cfg.sites)} sites x {cfg.n_users} users, {2 * cfg.n1 * cfg.n2} ports, "
          f"{cfg.n_subbands} subbands, L={cfg.n_beams}, budgets {cfg.budgets} -> {out}")

    results_path = out / "results.jsonl"
    # before the site datasets are (re)written: the same refusals as the sweep's
    _kit.check_resume(args, results_path, _kit.fingerprint(scenario="site-csi", config=asdict(cfg)))
    # 1. site datasets (deterministic per site: seed and site index)
    root = np.random.SeedSequence(args.seed)
    children = root.spawn(len(cfg.sites))
    for name, ss in tqdm(list(zip(cfg.sites, children)), desc="site datasets", disable=args.no_progress):
        path = data_dir / f"{name}.h5"
        if args.resume and path.exists():
            old = load_dataset(path, SiteDataset, classes=_dataset_classes())
            if asdict(old.config) == asdict(cfg):
                continue
        save_dataset(path, generate_site(cfg, name, rng=np.random.default_rng(ss)), seed=args.seed,
                     attrs={"scenario": "site-csi", "site": name})

    # 2. leave-one-site-out, one sweep point per target
    cfg_json = json.dumps(asdict(cfg), sort_keys=True)
    points = [{"target": s, "config": cfg_json, "data_dir": str(data_dir.resolve()),
               "loso_dir": str(loso_dir.resolve())} for s in cfg.sites]
    _kit.sweep(args, _loso_task, points, n_trials=1, results_path=results_path, desc="leave-one-site-out",
               fingerprint=_kit.fingerprint(scenario="site-csi", config=asdict(cfg)))
    recs = [_keyed_record(load_dataset(loso_dir / f"{s}.h5", LosoRecord, classes=_dataset_classes()))
            for s in cfg.sites]

    # 3. tables, CSVs and figures
    schemes = recs[0].schemes
    budgets = tuple(recs[0].budgets)
    bi = budgets.index(cfg.se_budget)
    mean_cap = {s: np.mean([r.capture[s].mean(axis=1) for r in recs], axis=0) for s in schemes}
    print(f"\nCSI-capture efficiency (mean over {len(recs)} target sites) vs labelled target users")
    print(f"{'scheme':24s}" + "".join(f"{b:>8d}" for b in budgets))
    for s in schemes:
        print(f"{LABELS[s]:24s}" + "".join(f"{v:8.3f}" for v in mean_cap[s]))
    write_csv(out / "capture_vs_budget.csv", {"budget": np.asarray(budgets),
                                              **{_csv_column(s): mean_cap[s] for s in schemes}})
    bar_schemes = ("sifo", "per_site", "type2", "type1")
    per_site = {s: np.array([r.capture[s][bi].mean() for r in recs]) for s in bar_schemes}
    write_csv(out / "capture_per_site.csv", {"site": np.array([r.target for r in recs]),
                                             **{_csv_column(s): v for s, v in per_site.items()}})
    cdf_schemes = ("sifo", "per_site", "type2", "type1")
    cdf_cols, cdf = {}, {}
    for s in cdf_schemes:
        v = np.sort(np.concatenate([r.capture[s][bi] for r in recs]))
        cdf[s] = (v, np.arange(1, v.size + 1) / v.size)
        cdf_cols[f"{_csv_column(s)}_capture"], cdf_cols[f"{_csv_column(s)}_cdf"] = cdf[s]
    write_csv(out / "capture_cdf.csv", cdf_cols)
    se_schemes = tuple(x for x in ("sifo", "per_site", "type2", "etype2", "type1", "ideal") if x in schemes)
    se = {s: np.mean(np.concatenate([_effective_se(r, s, bi, cfg) for r in recs], axis=1), axis=1)
          for s in se_schemes}
    write_csv(out / "se_vs_snr.csv", {"snr_db": np.asarray(cfg.snr_db), **{_csv_column(s): v for s, v in se.items()}})
    _figures(out, args.seed, cfg, recs, schemes, budgets, mean_cap, per_site, cdf, se)

    rows = overhead_table(cfg.sifo_config(), n_subbands=cfg.n_subbands,
                          n_ssb=cfg.ssb_beams_h * cfg.ssb_beams_v, n_calibration=cfg.se_budget)
    write_csv(out / "overhead.csv", {k: np.array([r[k] for r in rows]) for k in rows[0]})
    print("\noverhead per report (CSI-RS ports, feedback and RSRP bits, UE search, labels)")
    print(f"{'scheme':10s}{'CSI-RS ports':>14s}{'feedback bits':>15s}{'RSRP bits':>11s}{'UE search':>11s}"
          f"{'labels':>8s}")
    for r in rows:
        print(f"{r['scheme']:10s}{r['csi_rs_ports']:>14d}{r['feedback_bits']:>15d}{r['rsrp_bits']:>11d}"
              f"{r['ue_search']:>11d}{r['target_labels']:>8d}")
    mid = int(np.argmin(np.abs(np.asarray(cfg.snr_db) - 10.0)))
    print(f"\neffective SE at {cfg.snr_db[mid]:g} dB (N_cal = {cfg.se_budget}): "
          + ", ".join(f"{LABELS[s]} {se[s][mid]:.2f}" for s in se_schemes))
    print(f"\nwrote {out} ({time.perf_counter() - t0:.1f} s)")
    return 0
