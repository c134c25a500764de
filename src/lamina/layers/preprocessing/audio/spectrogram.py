"""Audio front ends: STFTSpectrogram and MelSpectrogram.

Both frame the signal by gathering and take the DFT as a matrix product with cosine and
sine tables (the real DFT of a frame is linear in it), so they need no FFT op and run the
same on every engine. STFTSpectrogram keeps its tables as the weights `real_kernel` and
`imag_kernel` (Keras's names and layout, `(frame_length, 1, fft_length // 2 + 1)`).
"""

from __future__ import annotations

import math

import numpy as np

from lamina import ops
from lamina.layers.layer import Layer

_WINDOWS = ("hann", "hamming")
_STFT_MODES = ("log", "magnitude", "psd", "real", "imag", "angle", "stft")
_EPSILON = 1e-7


def window_values(window, length: int, periodic: bool) -> np.ndarray | None:
    """The window as a float64 array (`hann`/`hamming`, periodic or symmetric), a given array, or None."""
    if window is None:
        return None
    if not isinstance(window, str):
        values = np.asarray(window, dtype="float64")
        if values.shape != (length,):
            raise ValueError(f"The window must have shape ({length},), got {values.shape}.")
        return values
    if window not in _WINDOWS:
        raise ValueError(f"window must be one of {_WINDOWS}, an array or None, got {window!r}.")
    if length == 1:
        return np.ones(1)
    denominator = length if periodic else length - 1
    phase = 2.0 * np.pi * np.arange(length) / denominator
    return 0.5 - 0.5 * np.cos(phase) if window == "hann" else 0.54 - 0.46 * np.cos(phase)


def dft_tables(frame_length: int, fft_length: int) -> tuple[np.ndarray, np.ndarray]:
    """cos and -sin of the DFT angles, `(frame_length, fft_length // 2 + 1)`, float64."""
    angles = -2.0 * np.pi * np.outer(np.arange(frame_length), np.arange(fft_length // 2 + 1)) / fft_length
    return np.cos(angles), np.sin(angles)


def frame_indices(length: int, frame_length: int, step: int) -> np.ndarray:
    """`(frames, frame_length)` start-shifted indices of every whole frame of a `length` signal."""
    count = (length - frame_length) // step + 1
    return np.arange(count)[:, None] * step + np.arange(frame_length)[None, :]


def _checked_int(layer: str, argument: str, value, minimum: int = 1, allow_none: bool = False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(f'Layer "{layer}": {argument} must be an int >= {minimum}, got {value!r}.')
    return value


class STFTSpectrogram(Layer):
    """The short-time Fourier transform of signals `(batch, time, channels)`, as Keras 3 computes it.

    Args:
        mode: "log" (log magnitude), "magnitude", "psd", "real", "imag", "angle" or "stft" (real then imag).
        frame_length: samples per frame.
        frame_step: samples between frames (None: half a frame).
        fft_length: DFT size (None: the next power of two >= frame_length).
        window: "hann", "hamming", an array of frame_length values, or None.
        periodic: a periodic (True) or symmetric window.
        scaling: "density" (divide by the window's L2 norm), "spectrum" (its sum) or None.
        padding: "valid" or "same".
        expand_dims: output `(batch, frames, freqs, channels)` instead of merging channels and freqs.
        data_format: "channels_last" (`(batch, time, channels)`) or "channels_first".

    Example:
        >>> STFTSpectrogram(frame_length=64, mode="magnitude")(np.zeros((2, 256, 1))).shape
        (2, 7, 33)
    """

    def __init__(
        self,
        mode="log",
        frame_length=256,
        frame_step=None,
        fft_length=None,
        window="hann",
        periodic=False,
        scaling="density",
        padding="valid",
        expand_dims=False,
        data_format=None,
        **kwargs,
    ):
        super().__init__(**kwargs)
        name = self.name
        self.frame_length = _checked_int(name, "frame_length", frame_length)
        self.frame_step = _checked_int(name, "frame_step", frame_step, allow_none=True)
        if frame_step is not None and frame_step > frame_length:
            raise ValueError(f'Layer "{name}": frame_step must be <= frame_length, got {frame_step}.')
        self.fft_length = _checked_int(name, "fft_length", fft_length, frame_length, allow_none=True)
        for argument, value, choices in (
            ("mode", mode, _STFT_MODES),
            ("scaling", scaling, ("density", "spectrum", None)),
            ("padding", padding, ("valid", "same")),
            ("data_format", data_format, ("channels_last", "channels_first", None)),
        ):
            if value not in choices:
                raise ValueError(f'Layer "{name}": {argument} must be one of {choices}, got {value!r}.')
        window_values(window, frame_length, periodic)  # checks the window now
        self.mode, self.window, self.periodic, self.scaling = mode, window, periodic, scaling
        self.padding, self.expand_dims = padding, expand_dims
        self.data_format = data_format or "channels_last"
        self._step = frame_step or frame_length // 2
        self._fft = fft_length or 2 ** int(math.ceil(math.log2(frame_length)))

    def _kernel_values(self, side: str) -> np.ndarray:
        cos, sin = dft_tables(self.frame_length, self._fft)
        table = cos if side == "real" else sin
        win = window_values(self.window, self.frame_length, self.periodic)
        if win is not None:
            scale = 1.0
            if self.scaling == "density":
                scale = np.sqrt(np.sum(win**2))
            elif self.scaling == "spectrum":
                scale = np.sum(np.abs(win))
            table = table * win[:, None] / scale
        return table[:, None, :].astype("float32")

    def build(self, input_shape):
        shape = (self.frame_length, 1, self._fft // 2 + 1)
        if self.mode != "imag":
            values = self._kernel_values("real")
            self.real_kernel = self.add_weight(
                name="real_kernel", shape=shape, initializer=lambda s, dtype=None: values
            )
        if self.mode != "real":
            values_i = self._kernel_values("imag")
            self.imag_kernel = self.add_weight(
                name="imag_kernel", shape=shape, initializer=lambda s, dtype=None: values_i
            )
        self.built = True

    def _frames(self, inputs):
        """`(batch * channels, frames, frame_length)` windows of the signal."""
        signal = inputs if self.data_format == "channels_first" else ops.transpose(inputs, (0, 2, 1))
        batch, channels, length = signal.shape
        signal = ops.reshape(signal, (-1, length))
        if self.padding == "same":
            count = -(-length // self._step)
            total = max((count - 1) * self._step + self.frame_length - length, 0)
            signal = ops.pad(signal, ((0, 0), (total // 2, total - total // 2)))
            length += total
        index = frame_indices(length, self.frame_length, self._step)
        return ops.take(signal, ops.convert_to_tensor(index.reshape(-1), dtype="int32"), axis=1), channels, index.shape

    def _project(self, frames, kernel, shape):
        frames = ops.reshape(frames, (frames.shape[0], *shape))
        return ops.matmul(frames, ops.reshape(kernel, (self.frame_length, -1)))  # (B*C, T, F)

    def call(self, inputs):
        frames, channels, shape = self._frames(ops.cast(inputs, "float32"))
        real = None if self.mode == "imag" else self._project(frames, self.real_kernel, shape)
        imag = None if self.mode == "real" else self._project(frames, self.imag_kernel, shape)
        if self.mode == "real":
            out = real
        elif self.mode == "imag":
            out = imag
        elif self.mode == "angle":
            out = _arctan2(imag, real)
        elif self.mode == "stft":
            out = ops.concatenate([real, imag], axis=-1)
        else:
            power = real**2 + imag**2
            if self.mode == "psd":
                inner = ops.pad(power[..., 1:-1], ((0, 0), (0, 0), (1, 1)))
                out = power + inner
            else:
                out = ops.sqrt(ops.maximum(power, _EPSILON))
                if self.mode == "log":
                    out = ops.log(ops.maximum(out, _EPSILON))
        return self._arrange(out, channels)

    def _arrange(self, out, channels):
        """(B*C, T, F) to Keras's output layout."""
        _, frames, freqs = out.shape
        out = ops.reshape(out, (-1, channels, frames, freqs))
        if self.expand_dims:
            order = (0, 2, 3, 1) if self.data_format == "channels_last" else (0, 1, 2, 3)
            return ops.transpose(out, order)
        out = ops.reshape(ops.transpose(out, (0, 1, 3, 2)), (-1, channels * freqs, frames))
        return ops.transpose(out, (0, 2, 1)) if self.data_format == "channels_last" else out

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "mode": self.mode,
            "frame_length": self.frame_length,
            "frame_step": self.frame_step,
            "fft_length": self.fft_length,
            "window": self.window,
            "periodic": self.periodic,
            "scaling": self.scaling,
            "padding": self.padding,
            "data_format": self.data_format,
            "expand_dims": self.expand_dims,
        }


def _arctan(z):
    """atan of any real: reflect |z| > 1 to 1/z, halve the angle twice, then a Taylor series."""
    big = ops.greater(ops.abs(z), 1.0)
    w = ops.where(big, 1.0 / ops.where(big, z, ops.ones_like(z)), z)
    for _ in range(2):  # atan(w) = 2 atan(w / (1 + sqrt(1 + w^2))); |w| ends below tan(pi / 16)
        w = w / (1.0 + ops.sqrt(1.0 + w * w))
    square, term, total = w * w, w, w
    for power in range(3, 16, 2):
        term = -term * square
        total = total + term / power
    angle = 4.0 * total
    return ops.where(big, ops.sign(z) * (math.pi / 2) - angle, angle)


def _arctan2(y, x):
    """The angle of (x, y) in (-pi, pi], from the half-angle tangent (well conditioned on each side)."""
    radius = ops.sqrt(x * x + y * y)
    right = ops.greater_equal(x, 0.0)
    numerator = ops.where(right, y, radius - x)
    denominator = ops.where(right, radius + x, y)
    defined = ops.not_equal(denominator, 0.0)
    angle = 2.0 * _arctan(numerator / ops.where(defined, denominator, ops.ones_like(denominator)))
    return ops.where(defined, angle, ops.where(right, ops.zeros_like(x), ops.full_like(x, math.pi)))


def mel_matrix(num_mel_bins, num_bins, sampling_rate, lower_hz, upper_hz) -> np.ndarray:
    """The HTK-mel triangular filter bank `(num_bins, num_mel_bins)` Keras uses (peaks of 1)."""

    def to_mel(hz):
        return 1127.0 * np.log(1.0 + np.asarray(hz, dtype="float64") / 700.0)

    freqs = np.linspace(0.0, sampling_rate / 2.0, num_bins)[1:]
    bins_mel = to_mel(freqs)[:, None]
    edges = np.linspace(to_mel(lower_hz), to_mel(upper_hz), num_mel_bins + 2)
    lower, center, upper = edges[:-2][None], edges[1:-1][None], edges[2:][None]
    weights = np.maximum(0.0, np.minimum((bins_mel - lower) / (center - lower), (upper - bins_mel) / (upper - center)))
    return np.pad(weights, ((1, 0), (0, 0))).astype("float32")


class MelSpectrogram(Layer):
    """Mel-scaled power spectrograms of signals `(batch, samples)` -> `(batch, num_mel_bins, frames)`.

    Frames are centered (the signal is reflect-padded by `fft_length // 2`), windowed, and
    transformed; magnitudes to the power `mag_exp` are mapped to `num_mel_bins` HTK-mel
    bands between `min_freq` and `max_freq`, then (with `power_to_db`) to decibels, floored
    at `top_db` below the batch's peak.

    Example:
        >>> MelSpectrogram(fft_length=256, sequence_stride=128, sequence_length=256,
        ...                num_mel_bins=16)(np.zeros((1, 1024))).shape
        (1, 16, 9)
    """

    def __init__(
        self,
        fft_length=2048,
        sequence_stride=512,
        sequence_length=None,
        window="hann",
        sampling_rate=16000,
        num_mel_bins=128,
        min_freq=20.0,
        max_freq=None,
        power_to_db=True,
        top_db=80.0,
        mag_exp=2.0,
        min_power=1e-10,
        ref_power=1.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        self.fft_length = _checked_int(self.name, "fft_length", fft_length)
        self.sequence_stride = _checked_int(self.name, "sequence_stride", sequence_stride)
        self.sequence_length = _checked_int(self.name, "sequence_length", sequence_length or fft_length)
        if self.sequence_length > self.fft_length:
            raise ValueError(f'Layer "{self.name}": sequence_length must be <= fft_length, got {sequence_length}.')
        window_values(window, self.sequence_length, True)
        self.window, self.sampling_rate, self.num_mel_bins = window, sampling_rate, num_mel_bins
        self.min_freq, self.max_freq = min_freq, max_freq or int(sampling_rate / 2)
        self.power_to_db, self.top_db, self.mag_exp = power_to_db, top_db, mag_exp
        self.min_power, self.ref_power = min_power, ref_power
        self._tables = self._make_tables()

    def _make_tables(self):
        """The windowed DFT tables (fft_length, bins) and the mel matrix (bins, mels), as float32."""
        win = window_values(self.window, self.sequence_length, True)
        if win is None:
            win = np.ones(self.sequence_length)
        left = (self.fft_length - self.sequence_length) // 2
        win = np.pad(win, (left, self.fft_length - self.sequence_length - left))
        cos, sin = dft_tables(self.fft_length, self.fft_length)
        bins = self.fft_length // 2 + 1
        mel = mel_matrix(self.num_mel_bins, bins, self.sampling_rate, self.min_freq, self.max_freq)
        return (cos * win[:, None]).astype("float32"), (sin * win[:, None]).astype("float32"), mel

    def call(self, inputs):
        signal = ops.cast(inputs, "float32")
        half = self.fft_length // 2
        length = signal.shape[-1]
        padded = np.pad(np.arange(length), (half, half), mode="reflect")
        index = padded[frame_indices(length + 2 * half, self.fft_length, self.sequence_stride)]
        frames = ops.take(signal, ops.convert_to_tensor(index.reshape(-1), dtype="int32"), axis=-1)
        frames = ops.reshape(frames, (*signal.shape[:-1], *index.shape))
        cos, sin, mel = (ops.convert_to_tensor(t) for t in self._tables)
        magnitude = ops.sqrt(ops.matmul(frames, cos) ** 2 + ops.matmul(frames, sin) ** 2)
        spectrum = ops.matmul(ops.power(magnitude, self.mag_exp), mel)
        if self.power_to_db:
            spectrum = self._decibels(spectrum)
        return ops.moveaxis(spectrum, -1, -2)

    def _decibels(self, power):
        scale = 10.0 / math.log(10.0)
        db = scale * ops.log(ops.maximum(power, self.min_power))
        db = db - scale * math.log(max(abs(self.ref_power), self.min_power))
        return ops.maximum(db, ops.max(db) - self.top_db)

    def compute_output_shape(self, input_shape):
        length = input_shape[-1]
        frames = None if length is None else length // self.sequence_stride + 1
        return (*input_shape[:-1], self.num_mel_bins, frames)

    def get_config(self) -> dict:
        return {
            **super().get_config(),
            "fft_length": self.fft_length,
            "sequence_stride": self.sequence_stride,
            "sequence_length": self.sequence_length,
            "window": self.window,
            "sampling_rate": self.sampling_rate,
            "num_mel_bins": self.num_mel_bins,
            "min_freq": self.min_freq,
            "max_freq": self.max_freq,
            "power_to_db": self.power_to_db,
            "top_db": self.top_db,
            "mag_exp": self.mag_exp,
            "min_power": self.min_power,
            "ref_power": self.ref_power,
        }
