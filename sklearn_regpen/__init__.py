"""scikit-learn estimators that train neural networks with input-space regularizers."""

from ._loop import TrainingDivergedError
from .estimators import RegularizedMLPClassifier, RegularizedMLPRegressor

__all__ = ["RegularizedMLPClassifier", "RegularizedMLPRegressor", "TrainingDivergedError"]
__version__ = "0.1.0"
