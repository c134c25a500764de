"""MelSpectrogram and STFTSpectrogram against real Keras 3 (same arguments, same signals), and a model
with STFTSpectrogram saved by Keras 3 loaded with its kernels."""

from __future__ import annotations

import json
import pathlib

import numpy as np
import pytest

import lamina
from lamina import layers as L
from lamina import ops

KERAS3_OUTPUTS = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "augmentation" / "keras3_outputs.npz"
RNG = np.random.RandomState(0)
SIGNAL = RNG.randn(2, 600).astype("float32")
STEREO = RNG.randn(2, 200, 2).astype("float32")


def _keras():
    import keras

    return keras


def test_mel_spectrogram_matches_keras3():
    with np.load(KERAS3_OUTPUTS) as data:  # see tests/fixtures/augmentation/make_keras3_outputs.py
        cases = [json.loads(str(data[key])) | {"k": key[5:]} for key in data.files if key.startswith("args_")]
        cases = [(c, data[f"x_{c['k']}"], data[f"y_{c['k']}"]) for c in cases if c["name"] == "MelSpectrogram"]
    assert cases
    for spec, signal, expected in cases:
        got = ops.convert_to_numpy(L.MelSpectrogram(**spec["args"])(signal))
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-3)


def _hann(length, periodic):
    n = np.arange(length)
    return 0.5 - 0.5 * np.cos(2 * np.pi * n / (length if periodic else length - 1))


def test_mel_spectrogram_matches_numpy_fft():
    fft, stride, mels, rate = 64, 32, 6, 16000
    got = ops.convert_to_numpy(
        L.MelSpectrogram(fft_length=fft, sequence_stride=stride, num_mel_bins=mels, power_to_db=False, mag_exp=1.0)(
            SIGNAL
        )
    )
    padded = np.pad(SIGNAL, ((0, 0), (fft // 2, fft // 2)), mode="reflect")
    starts = range(0, padded.shape[1] - fft + 1, stride)
    frames = np.stack([padded[:, s : s + fft] for s in starts], axis=1) * _hann(fft, True)
    magnitude = np.abs(np.fft.rfft(frames, axis=-1))
    mel = lambda hz: 1127.0 * np.log1p(np.asarray(hz) / 700.0)  # noqa: E731 - HTK's mel scale
    edges = np.linspace(mel(20.0), mel(rate / 2), mels + 2)
    bins = mel(np.linspace(0, rate / 2, fft // 2 + 1))
    bank = np.stack(
        [
            np.clip(
                np.minimum(
                    (bins - edges[m]) / (edges[m + 1] - edges[m]), (edges[m + 2] - bins) / (edges[m + 2] - edges[m + 1])
                ),
                0,
                None,
            )
            for m in range(mels)
        ],
        axis=1,
    )
    bank[0] = 0.0  # Keras drops the DC bin
    np.testing.assert_allclose(got, np.swapaxes(magnitude @ bank, 1, 2), rtol=1e-4, atol=1e-3)


@pytest.mark.parametrize(
    "args",
    [
        dict(mode="log", frame_length=40, frame_step=20),
        dict(mode="angle", frame_length=30, frame_step=12, window="hamming", periodic=True),
        dict(mode="stft", frame_length=20, frame_step=10, fft_length=32, window=None, data_format="channels_first"),
    ],
)
def test_stft_spectrogram_matches_numpy_fft(args):
    channels_first = args.get("data_format") == "channels_first"
    signal = np.transpose(STEREO, (0, 2, 1)) if channels_first else STEREO
    layer = L.STFTSpectrogram(**args)
    got = ops.convert_to_numpy(layer(signal))
    length, step = args["frame_length"], args["frame_step"]
    fft = args.get("fft_length") or 2 ** int(np.ceil(np.log2(length)))
    n, kind = np.arange(length), args.get("window", "hann")
    if kind is None:
        window = np.ones(length)
    else:
        periodic = args.get("periodic", False)
        window = _hann(length, periodic) if kind == "hann" else 0.54 - 0.46 * np.cos(2 * np.pi * n / length)
        window = window / np.sqrt(np.sum(window**2))  # "density" scaling
    tracks = np.transpose(STEREO, (0, 2, 1))  # (batch, channels, time)
    frames = np.stack([tracks[..., s : s + length] for s in range(0, 200 - length + 1, step)], axis=2) * window
    spectrum = np.fft.rfft(frames, n=fft, axis=-1)  # (batch, channels, frames, freqs)
    if args["mode"] == "log":
        expected = np.log(np.maximum(np.abs(spectrum), 1e-7))
    elif args["mode"] == "angle":
        expected = np.angle(spectrum)
    else:
        expected = np.concatenate([spectrum.real, spectrum.imag], axis=-1)
    expected = np.swapaxes(expected, 2, 3).reshape(2, -1, expected.shape[2])  # (batch, channels * freqs, frames)
    expected = expected if channels_first else np.swapaxes(expected, 1, 2)
    if args["mode"] == "angle":  # +pi and -pi are the same angle where the imaginary part is 0
        diff = np.abs(got - expected)
        assert np.minimum(diff, np.abs(2 * np.pi - diff)).max() < 1e-3
    else:
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)
    assert [w.name.split("/")[-1] for w in layer.weights] == ["real_kernel", "imag_kernel"][: len(layer.weights)]


def test_stft_model_saved_by_keras3_loads_with_its_kernels(tmp_path):
    keras = _keras()
    model = keras.Sequential(
        [keras.Input((200, 2)), keras.layers.STFTSpectrogram(mode="magnitude", frame_length=32), keras.layers.Dense(3)]
    )
    kernel = model.layers[0].real_kernel
    kernel.assign(np.asarray(kernel) * 2.0)  # not the initial values: the file's weights must be used
    path = str(tmp_path / "stft.keras")
    model.save(path)
    loaded = lamina.models.load_model(path)
    np.testing.assert_allclose(
        ops.convert_to_numpy(loaded.predict(STEREO, verbose=0)), model.predict(STEREO, verbose=0), rtol=1e-4, atol=1e-4
    )
    config = loaded.layers[0].get_config()
    assert {k: config[k] for k in ("mode", "frame_length", "frame_step")} == {
        "mode": "magnitude",
        "frame_length": 32,
        "frame_step": None,
    }


def test_bad_arguments_name_the_layer():
    with pytest.raises(ValueError, match="mode"):
        L.STFTSpectrogram(mode="loud")
    with pytest.raises(ValueError, match="sequence_length"):
        L.MelSpectrogram(fft_length=64, sequence_length=128)
