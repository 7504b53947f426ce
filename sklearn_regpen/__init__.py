"""scikit-learn estimators that train neural networks with input-space regularizers."""

from .estimators import RegularizedMLPClassifier, RegularizedMLPRegressor, TrainingDivergedError

__all__ = ["RegularizedMLPClassifier", "RegularizedMLPRegressor", "TrainingDivergedError"]
__version__ = "0.1.0"
