"""scikit-learn estimators that train neural networks with input-space regularizers."""

from ._climb import TrainingLossClimbWarning
from ._loop import TrainingDivergedError
from .estimators import RegularizedMLPClassifier, RegularizedMLPRegressor
from .nets import RegularizedNetClassifier, RegularizedNetRegressor

__all__ = [
    "RegularizedMLPClassifier",
    "RegularizedMLPRegressor",
    "RegularizedNetClassifier",
    "RegularizedNetRegressor",
    "TrainingDivergedError",
    "TrainingLossClimbWarning",
]

#: the package's version; ``pyproject.toml`` reads it from here (setuptools' dynamic version)
__version__ = "0.2.0"
