"""
PLAIN on a small OFDM tensor against the Cramér–Rao bound
=========================================================

:func:`estimators.plain` on the channel estimate of a small monostatic ``isac-ofdm`` scene
(16 antennas × 64 subcarriers × 64 symbols, two targets at fixed positions), twenty noise draws
per SNR, RMSE of the azimuth and of the path length against the joint deterministic CRB
(:func:`estimators.crb_plain_joint`, all angles, delays, Dopplers and gains unknown) of the same
paths. PLAIN returns one-way path lengths (twice the range for a monostatic radar), the unit of
the bound. The same 20 noise draws are scaled at every SNR, so the RMSE curves are parallel;
with 40 squared errors per point the estimated RMSE scatters by roughly ±10 %, which is why a
point can sit slightly below the bound.
"""

from dataclasses import replace

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import estimators
import sensing
from scenarios import isac_ofdm

config = isac_ofdm.IsacConfig(n_targets=2, azimuths_rad=(-0.3, 0.25), distances_m=(40.0, 70.0),
                              velocities_mps=(-10.0, 12.0), path_loss="none")
geometry, numerology = config.array(), config.numerology()
snrs_db = [-10.0, 0.0, 10.0, 20.0]
n_trials = 20

rmse_az, rmse_d, crb_az, crb_d = [], [], [], []
for snr in snrs_db:
    se_az, se_d = [], []
    for trial in range(n_trials):
        ds = isac_ofdm.generate(replace(config, snr_db=snr), rng=0, noise_rng=100 + trial)
        res = estimators.plain(ds.channel_estimate, geometry=geometry, numerology=numerology,
                               n_objects=2, deltas=(1, 2, 2), rng=0)
        true_len = sensing.SPEED_OF_LIGHT * ds.truth.delays_s          # = 2 x range
        m = sensing.match_estimates(np.stack([res.azimuths_rad, res.path_lengths_m], -1),
                                    np.stack([ds.truth.azimuths_rad, true_len], -1),
                                    scale=(np.radians(1.0), 1.0))
        err = m.errors
        se_az.append(np.mean(err[:, 0] ** 2))
        se_d.append(np.mean(err[:, 1] ** 2))
    rmse_az.append(np.sqrt(np.mean(se_az)))
    rmse_d.append(np.sqrt(np.mean(se_d)))
    bound = estimators.crb_plain_joint(ds.paths, geometry=geometry, numerology=numerology,
                                       noise_variance=ds.noise_variance)
    crb_az.append(np.sqrt(np.mean(bound.azimuth_rad2)))
    crb_d.append(np.sqrt(np.mean(bound.distance_m2)))

fig, axes = plt.subplots(1, 2, figsize=(7, 3), layout="constrained")
for ax, rmse, crb, unit, scale in ((axes[0], rmse_az, crb_az, "azimuth RMSE [deg]", np.degrees(1.0)),
                                   (axes[1], rmse_d, crb_d, "path-length RMSE [m]", 1.0)):
    ax.semilogy(snrs_db, np.asarray(rmse) * scale, "o-", label="PLAIN")
    ax.semilogy(snrs_db, np.asarray(crb) * scale, "k--", label="joint CRB")
    ax.set_xlabel("SNR [dB]")
    ax.set_ylabel(unit)
    ax.set_xticks(snrs_db)
    ax.grid(True, which="both", alpha=0.3)
axes[1].legend(loc="upper right")
fig.suptitle(f"PLAIN, 16 × 64 × 64 tensor, 2 targets, {n_trials} noise draws per SNR")
plt.show()
