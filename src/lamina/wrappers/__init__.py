"""Wrappers of lamina models for other libraries: `scikit_learn` (Keras 2's `keras.wrappers.scikit_learn`).

Example:
    >>> from lamina.wrappers.scikit_learn import KerasClassifier
"""

from lamina.wrappers import scikit_learn as scikit_learn
