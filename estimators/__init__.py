"""estimators: parameter estimation on sensing and channel data (NumPy or CuPy).

The estimators come in five families, one subpackage each, grouped by what they take as input:

============================  ===================================================================
:mod:`estimators.subspace`    snapshots / covariances: MUSIC, root-MUSIC, ESPRIT, OMP, Capon,
                              beamscan, smoothing, model order
:mod:`estimators.tensor`      channel tensors: tensor tools (HOSVD, Tucker, CP), PLAIN and its
                              baselines, the classic OFDM radar
:mod:`estimators.bayes`       linear/bilinear models with a dictionary: SBL, VBI, SC-VBI,
                              turbo-VBI, BiSVBI, EM-Turbo-BiSVBI, location OMP
:mod:`estimators.bounds`      Cramér–Rao bounds for all of the above
:mod:`estimators.feedback`    CSI feedback: 3GPP Type-I/II codebooks, SiFo
============================  ===================================================================

Every public name is also available here (``from estimators import music``). Every estimator
is a pure function with keyword-only options that returns a frozen result dataclass whose
arrays stay in the input's array library (``result.to_numpy()`` copies them to the host).
``REGISTRY`` (with its views ``ESTIMATORS`` and ``EXAMPLES``) lists every family's estimators
with an example problem; the common tests run over it.

Imports :mod:`sensing` and, where a model-based dictionary or bound needs propagation
geometry, :mod:`channels`; never :mod:`scenarios`.
"""

from . import bayes, bounds, feedback, subspace, tensor
from ._registry import ESTIMATORS, EXAMPLES, REGISTRY
from .bayes import *  # noqa: F403
from .bounds import *  # noqa: F403
from .feedback import *  # noqa: F403
from .subspace import *  # noqa: F403
from .tensor import *  # noqa: F403

__all__ = ["ESTIMATORS", "EXAMPLES", "REGISTRY", "bayes", "bounds", "feedback", "subspace", "tensor"]
__all__ += subspace.__all__ + tensor.__all__ + bayes.__all__ + bounds.__all__ + feedback.__all__
