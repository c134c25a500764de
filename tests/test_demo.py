"""The README's demo (`make demo`) reaches 95% test accuracy, and the model reloaded from HDF5 scores the same."""

from __future__ import annotations

import importlib.util
import pathlib
import re

DEMO = pathlib.Path(__file__).resolve().parents[1] / "examples" / "digits_convnet.py"


def test_demo_trains_saves_reloads_and_reaches_95_percent(capsys):
    spec = importlib.util.spec_from_file_location("digits_convnet", DEMO)
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    demo.main()
    out = capsys.readouterr().out
    accuracies = [float(a) for a in re.findall(r"test accuracy (\d\.\d+)", out)]
    assert len(accuracies) == 2, out[-2000:]
    trained, reloaded = accuracies
    assert trained >= 0.95
    assert reloaded == trained
    assert len(re.findall(r"^  epoch +\d+: loss", out, flags=re.MULTILINE)) == 15  # the per-epoch History table
