"""Audio preprocessing layers, by Keras name.

Example:
    >>> from lamina.layers import MelSpectrogram, STFTSpectrogram
"""

from lamina.layers.preprocessing.audio.spectrogram import MelSpectrogram as MelSpectrogram
from lamina.layers.preprocessing.audio.spectrogram import STFTSpectrogram as STFTSpectrogram
