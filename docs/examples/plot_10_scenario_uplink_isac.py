"""
Scenario ``uplink-isac``: uplink multi-user ISAC
================================================

EM-Turbo-BiSVBI against its baselines. **A smaller variant than** ``--quick``: the full quick
run takes 40–130 s, so the gallery runs two SNR points, one and two pilot symbols, four of the
methods (``proposed``, ``omp``, ``pilot_lmmse``, ``perfect_csi``) and 5 EM iterations; run
``subsense run uplink-isac --quick`` for the CI-size figure with every method.

The run is ``scenarios._cli.main`` (the ``subsense`` program) with

.. code-block:: bash

   subsense run uplink-isac --quick --trials 1 --no-progress --snr-db 0,20 --pilots 1,2 --methods proposed,omp,pilot_lmmse,perfect_csi --max-outer 5 --out DIR

into a temporary folder; the PNG figures it wrote are shown below as they are (the PDF twins and
the CSV, ``results.jsonl`` and HDF5 files sit next to them).
"""

import sys
import tempfile
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.image as mpimg
import matplotlib.pyplot as plt

from scenarios._cli import main

out = Path(tempfile.mkdtemp(prefix="plot_10_scenario_uplink_isac-"))
flags = ['--quick', '--trials', '1', '--no-progress', '--snr-db', '0,20', '--pilots', '1,2', '--methods', 'proposed,omp,pilot_lmmse,perfect_csi', '--max-outer', '5']
rc = main(["run", "uplink-isac", *flags, "--out", str(out)])
if rc != 0:
    sys.exit(f"subsense run uplink-isac failed with exit code {rc}")

for png in sorted(out.glob("*.png")):
    image = mpimg.imread(png)
    height, width = image.shape[:2]
    fig = plt.figure(figsize=(7, 7 * height / width))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(image)
    ax.set_axis_off()
    fig.text(0.5, 0.0, png.name, ha="center", va="bottom", fontsize=8, color="0.4")
plt.show()
