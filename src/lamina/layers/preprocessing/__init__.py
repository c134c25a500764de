"""Preprocessing layers: rescaling, resizing, cropping, category encoding, hashing, discretization, normalization,
lookups (StringLookup, IntegerLookup) and TextVectorization.

The layers are exported from `lamina.layers` by their Keras names.

Example:
    >>> from lamina.layers import Rescaling
    >>> Rescaling(1 / 255)(np.full((1, 2), 255.0))
"""
