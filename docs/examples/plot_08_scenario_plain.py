"""
Scenario ``plain``: the PLAIN paper's figure
============================================

PLAIN vs the sequential and joint estimators with both CRBs, at the CI size (``--quick``) with
one trial per point; the run-time and compression tables are printed and written as CSV.

The run is ``scenarios._cli.main`` (the ``subsense`` program) with

.. code-block:: bash

   subsense run plain --quick --trials 1 --no-progress --out DIR

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

out = Path(tempfile.mkdtemp(prefix="plot_08_scenario_plain-"))
flags = ['--quick', '--trials', '1', '--no-progress']
rc = main(["run", "plain", *flags, "--out", str(out)])
if rc != 0:
    sys.exit(f"subsense run plain failed with exit code {rc}")

for png in sorted(out.glob("*.png")):
    image = mpimg.imread(png)
    height, width = image.shape[:2]
    fig = plt.figure(figsize=(7, 7 * height / width))
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(image)
    ax.set_axis_off()
    fig.text(0.5, 0.0, png.name, ha="center", va="bottom", fontsize=8, color="0.4")
plt.show()
