r"""
Conventions checked in code: steering, delay and Doppler phases, city CSI
==========================================================================

The checks behind :doc:`/bring_your_own_data`: the steering vector, the phases of
:func:`channels.cfr_from_paths`, and the form of the city CSI ``h[user, port, subband]``
(:math:`y = \mathbf h^H\mathbf w`) against a downlink :math:`\mathbf H` written with
:math:`y = \mathbf H\mathbf v`, for a LoS user: of :math:`\mathbf H` and :math:`\mathbf H^*`,
the package form is the one whose steering correlation with the LoS direction is 1.
"""

import numpy as np

import channels
import sensing

# 1. Steering vector: ULA along +y, element 0 at the origin, broadside = azimuth 0,
#    a_m = exp(+j 2pi/lambda p_m . u)
num = sensing.Numerology(28e9, 120e3, 16, 8)           # carrier, spacing, subcarriers, symbols
lam = num.wavelength_m
ula = sensing.ula(8, lam / 2)
phi = np.radians(20.0)
a = sensing.steering_vector(ula, phi, wavelength_m=lam)
assert np.allclose(a.ravel(), np.exp(1j * np.pi * np.arange(8) * np.sin(phi)))

# 2. CFR phases: exp(-j 2pi f_k tau) over subcarriers, exp(+j 2pi f_D t T_O) over symbols
tau, f_d = 150e-9, 1.5e3
one = np.ones(1)
paths = channels.Paths(gains=one.astype(complex), delays_s=tau * one, doppler_hz=f_d * one,
                       aoa_az_rad=phi * one, aoa_el_rad=0 * one, aod_az_rad=0 * one, aod_el_rad=0 * one)
H = np.asarray(channels.cfr_from_paths(paths, ula, num))        # (antenna, subcarrier, symbol)
f_k, t = num.subcarrier_frequencies_hz, num.symbol_times_s
expected = (a.reshape(8, 1, 1) * np.exp(-2j * np.pi * f_k * tau)[None, :, None]
            * np.exp(2j * np.pi * f_d * t)[None, None, :])
assert H.shape == (8, 16, 8) and np.allclose(H, expected)

# 3. City CSI h[user, port, subband] pairs with y = h^H w: the BS is the *receive* array of
#    cfr_from_paths (reciprocal, uplink form), so h is the steering vector a(u) of each path.
site = channels.city_site("plaza")                          # 4 x 4 UPA, 2 polarisations, 32 ports
positions = channels.sample_user_positions(site, 40, rng=0)
city = channels.city_channel(site, positions)
u = int(np.flatnonzero(city.los)[0])                        # a LoS user
los = int(np.flatnonzero(city.path_kind[u] == 1)[0])
p = city.paths
a_los = np.asarray(sensing.steering_vector(site.bs_array(), p.aoa_az_rad[u, los], p.aoa_el_rad[u, los],
                                           wavelength_m=site.wavelength_m)).ravel()     # (16,)


def steering_correlation(h, a):
    """|a^H h| / (|a| |h|) per polarisation and subband, h of shape (32, n_subbands)."""
    blocks = h.reshape(2, a.size, -1)                      # ports: pol * N1 N2 + element
    return np.abs(np.einsum("m,pms->ps", a.conj(), blocks)) / (
        np.linalg.norm(a) * np.linalg.norm(blocks, axis=1))


# a LoS-only channel of that user, synthesised in both forms at the site's carrier
num_site = sensing.Numerology(site.carrier_hz, 30e3, 13 * 4 * 12, 1)   # 13 subbands of 4 PRBs
keep = np.zeros(p.gains.shape[1], bool)
keep[los] = True
g = np.where(keep, p.gains[u], 0)
z = np.zeros_like(p.delays_s[u])
uplink = channels.Paths(g, p.delays_s[u], z, p.aoa_az_rad[u], p.aoa_el_rad[u], z, z)
h_pkg = np.asarray(channels.cfr_from_paths(uplink, site.bs_array(), num_site, frequencies_hz=city.frequencies_hz,
                                           symbol_times_s=np.zeros(1)))[:, :, 0]   # (16, n_subbands)
#    a "physical" downlink H with y = H v (BS as transmit array: the bracket e^{-j 2pi/lambda q.u}
#    of cfr_from_paths, the textbook H = sum alpha a_r a_t^H), one UE antenna
downlink = channels.Paths(g, p.delays_s[u], z, z, z, p.aoa_az_rad[u], p.aoa_el_rad[u])
H_dl = np.asarray(channels.cfr_from_paths(downlink, sensing.ula(1, lam), num_site, tx_array=site.bs_array(),
                                          frequencies_hz=city.frequencies_hz,
                                          symbol_times_s=np.zeros(1)))[0, :, 0, :].T  # (16, n_subbands)
h_from_dl = np.conj(H_dl)                                    # package convention: h = conj(H)
two_pol = lambda h: np.concatenate([h, h])                   # LoS: equal on both polarisations
print("package h          :", steering_correlation(two_pol(h_pkg), a_los).min().round(6))
print("physical H as is   :", steering_correlation(two_pol(H_dl), a_los).max().round(3))
print("conj(physical H)   :", steering_correlation(two_pol(h_from_dl), a_los).min().round(6))
print("city CSI (all paths):", steering_correlation(city.csi[u], a_los).mean().round(3))
assert np.allclose(np.abs(h_from_dl), np.abs(h_pkg))
assert steering_correlation(two_pol(h_from_dl), a_los).min() > 0.999999
