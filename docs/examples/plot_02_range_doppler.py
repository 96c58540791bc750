"""
Range–Doppler map of the OFDM radar
===================================

One realisation of the ``isac-ofdm`` scenario (monostatic, 28 GHz, 16-antenna ULA, 64
subcarriers × 64 symbols, three targets) and :func:`estimators.ofdm_radar` on its channel
estimate, shape ``(antenna, subcarrier, symbol)``. The map is zoomed onto the targets; red
crosses mark the ground truth (legend: truth), orange circles the detections.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import estimators
from scenarios import isac_ofdm
from sensing.plotting import plot_range_doppler

config = isac_ofdm.IsacConfig(snr_db=10.0)
ds = isac_ofdm.generate(config, rng=1)
est = estimators.ofdm_radar(ds.channel_estimate, geometry=config.array(), numerology=config.numerology(),
                            n_targets=config.n_targets, propagation=config.propagation)
t = ds.truth
print("true range [m]:", np.round(t.distances_m, 2), " velocity [m/s]:", np.round(t.velocities_mps, 2))
print("est. range [m]:", np.round(est.distances_m, 2), " velocity [m/s]:", np.round(est.velocities_mps, 2))

fig, ax = plt.subplots(figsize=(6, 4), layout="constrained")
plot_range_doppler(est.range_doppler_map, est.distance_axis_m, est.velocity_axis_mps, ax=ax,
                   truth=(t.distances_m, t.velocities_mps), dynamic_range_db=40)
ax.plot(est.velocities_mps, est.distances_m, "o", mfc="none", mec="tab:orange", mew=1.5, ms=11,
        label="detections")
pad_r, pad_v = 15.0, 5.0
ax.set_ylim(max(t.distances_m.min() - pad_r, 0), t.distances_m.max() + pad_r)
ax.set_xlim(t.velocities_mps.min() - pad_v, t.velocities_mps.max() + pad_v)
ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.01), ncols=2)
plt.show()
