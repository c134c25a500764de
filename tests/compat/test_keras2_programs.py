"""Small Keras 2.3-style programs (tests/programs/keras2_*.py) run by `lamina run`, checked against NumPy.

Each test starts the program on the engine under test, reads the JSON line it prints last and recomputes its
numbers independently: tokenizer indices written out, PNG pixels read with Pillow, forward passes in NumPy.
"""

from __future__ import annotations

import json

import numpy as np
from test_lamina_run import lamina_run, softmax


def run_program(script: str, *args: str) -> dict:
    result = lamina_run(script, *args)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def test_text_classification_with_tokenizer_and_pad_sequences():
    report = run_program("keras2_text_classification.py")
    # Most frequent first, ties in order of first appearance; the OOV token takes index 1.
    words = ["<unk>", "the", "great", "bad", "movie", "was", "acting", "story", "plot", "i", "and", "loved", "hated"]
    assert report["word_index"] == {word: index for index, word in enumerate(words, start=1)}
    # num_words=10 keeps indices 1..9; "and", "i", "loved", "hated" become the OOV index.
    assert report["sequences"] == [
        [2, 5, 6, 3],
        [2, 5, 6, 4],
        [3, 7, 3, 8],
        [4, 9, 1, 4, 7],
        [1, 1, 2, 8],
        [1, 1, 2, 9],
    ]
    assert report["x_train"] == [
        [0, 2, 5, 6, 3],
        [0, 2, 5, 6, 4],
        [0, 3, 7, 3, 8],
        [4, 9, 1, 4, 7],
        [0, 1, 1, 2, 8],
        [0, 1, 1, 2, 9],
    ]
    assert report["x_test"] == [[2, 8, 6, 1, 0]]  # "terrible" is unknown; padding="post"
    assert len(report["losses"]) == 2 and np.all(np.isfinite(report["losses"]))
    embeddings, kernel, bias = (np.asarray(w) for w in report["weights"])
    x = np.asarray(report["x_train"] + report["x_test"])
    mask = (x != 0)[..., None]  # mask_zero=True: the average skips the padding
    pooled = (embeddings[x] * mask).sum(axis=1) / mask.sum(axis=1)
    np.testing.assert_allclose(report["predictions"], sigmoid(pooled @ kernel + bias), rtol=1e-5, atol=1e-6)


def write_image_folders(root) -> dict:
    """Six PNGs in two class folders (one grey, one twice the size) and a text file to skip: name -> RGB pixels."""
    from PIL import Image

    rng = np.random.RandomState(0)
    pixels = {}
    for name, shape in [("cat/a.png", (6, 8, 3)), ("cat/b.png", (6, 8, 3)), ("cat/c.png", (12, 16, 3))]:
        pixels[name] = rng.randint(0, 256, size=shape).astype("uint8")
    pixels["dog/grey.png"] = rng.randint(0, 256, size=(6, 8)).astype("uint8")
    pixels["dog/y.png"] = rng.randint(0, 256, size=(6, 8, 3)).astype("uint8")
    pixels["dog/z.png"] = rng.randint(0, 256, size=(6, 8, 3)).astype("uint8")
    (root / "cat").mkdir()
    (root / "dog").mkdir()
    (root / "dog" / "notes.txt").write_text("not an image")
    rgb = {}
    for name, values in pixels.items():
        Image.fromarray(values).save(root / name)
        # Keras 2 converts to RGB, then resizes with nearest-neighbour sampling to target_size (width, height).
        image = Image.open(root / name).convert("RGB").resize((8, 6), Image.NEAREST)
        rgb[name] = np.asarray(image, dtype="float32")
    return rgb


def conv_gap_dense(x, kernel, bias, dense_kernel, dense_bias):
    """Conv2D (valid, relu) -> GlobalAveragePooling2D -> Dense softmax, channels last."""
    windows = np.lib.stride_tricks.sliding_window_view(x, kernel.shape[:2], axis=(1, 2))  # n, h, w, c, kh, kw
    features = np.maximum(np.einsum("nhwcij,ijcf->nhwf", windows, kernel) + bias, 0)
    return softmax(features.mean(axis=(1, 2)) @ dense_kernel + dense_bias)


def test_image_augmentation_with_flow_from_directory(tmp_path):
    rgb = write_image_folders(tmp_path)
    report = run_program("keras2_image_directory.py", str(tmp_path))
    names = sorted(rgb)
    assert report["class_indices"] == {"cat": 0, "dog": 1}
    assert report["classes"] == [0, 0, 0, 1, 1, 1]
    assert [name.replace("\\", "/") for name in report["filenames"]] == names
    images = np.stack([rgb[name] for name in names]) / 255
    labels = np.eye(2)[[0, 0, 0, 1, 1, 1]]
    np.testing.assert_allclose(report["x_first"], images[:4], rtol=1e-6, atol=1e-7)
    np.testing.assert_array_equal(report["y_first"], labels[:4])
    # horizontal_flip=True: each image comes back as it is or mirrored left to right (and seed=2 gives both).
    flipped = np.asarray(report["x_flipped"])
    as_is = np.all(np.isclose(flipped, images, atol=1e-6), axis=(1, 2, 3))
    mirrored = np.all(np.isclose(flipped, images[:, :, ::-1], atol=1e-6), axis=(1, 2, 3))
    assert np.all(as_is | mirrored) and as_is.any() and mirrored.any(), (as_is, mirrored)
    np.testing.assert_array_equal(report["y_flipped"], labels)
    history = report["history"]
    assert sorted(history) == ["accuracy", "loss", "val_accuracy", "val_loss"]
    assert len(history["loss"]) == 2 and np.all(np.isfinite(history["loss"] + history["val_loss"]))
    weights = [np.asarray(w) for w in report["weights"]]
    np.testing.assert_allclose(report["predictions"], conv_gap_dense(images, *weights), rtol=1e-4, atol=1e-6)


def test_grid_search_scores_are_each_fitted_models_accuracy():
    report = run_program("keras2_grid_search.py")
    x, y = np.asarray(report["x"]), np.asarray(report["y"])
    assert report["params"] == [{"units": 3}, {"units": 8}]
    folds = report["folds"]
    # GridSearchCV fits candidate by candidate, fold by fold, then refits the best on all the data.
    assert len(report["weights"]) == 2 * len(folds) + 1
    assert report["epochs_run"] == [2] * 5  # the sk_param epochs=2 reaches every fit

    def predicted_labels(weights):
        """Labels, and which samples' two logits are within float32 rounding (either label is then right)."""
        w1, b1, w2, b2 = (np.asarray(w) for w in weights)
        logits = np.maximum(x @ w1 + b1, 0) @ w2 + b2
        top_two = np.sort(logits, axis=1)[:, -2:]
        return logits.argmax(axis=1), top_two[:, 1] - top_two[:, 0] < 1e-4

    accuracies, slack = np.zeros((2, len(folds))), np.zeros((2, len(folds)))
    for candidate, params in enumerate(report["params"]):
        for k, (_, test) in enumerate(folds):
            weights = report["weights"][candidate * len(folds) + k]
            assert np.shape(weights[0]) == (4, params["units"])  # the grid's units reached build_fn
            labels, tied = predicted_labels(weights)
            accuracies[candidate, k] = np.mean(labels[test] == y[test])
            slack[candidate, k] = np.mean(tied[test])
    assert np.all(np.abs(np.transpose(report["split_scores"]) - accuracies) <= slack + 1e-6), (report, accuracies)
    assert np.all(np.abs(np.asarray(report["mean_scores"]) - accuracies.mean(axis=1)) <= slack.mean(axis=1) + 1e-6)
    # The best candidate has the highest mean accuracy (equal means, as fractions of 12, count as ties).
    best = report["best_params"]
    means = np.asarray(report["mean_scores"])
    assert means[report["params"].index(best)] >= means.max() - 1e-6
    refit = report["weights"][-1]
    assert np.shape(refit[0]) == (4, best["units"])
    labels, tied = predicted_labels(refit)
    np.testing.assert_array_equal(np.asarray(report["best_predictions"])[~tied], labels[~tied])


def locally_connected(x, kernel, strides, window):
    """Keras 2's implementation-1 layout: one (window x channels, filters) matrix per output position, row-major."""
    spatial = x.shape[1:-1]
    counts = [(size - w) // s + 1 for size, w, s in zip(spatial, window, strides)]
    outputs = []
    for position in np.ndindex(*counts):
        patch = x[(slice(None), *(slice(p * s, p * s + w) for p, s, w in zip(position, strides, window)))]
        outputs.append(patch.reshape(len(x), -1) @ kernel[len(outputs)])
    return np.stack(outputs, axis=1).reshape(len(x), *counts, kernel.shape[-1])


def test_locally_connected_models_predict_a_dot_product_per_position():
    report = run_program("keras2_locally_connected.py")
    sequence, image = report["sequence"], report["image"]
    for part in (sequence, image):
        assert len(part["losses"]) == 2 and np.all(np.isfinite(part["losses"]))
    assert sequence["output_shape"] == [None, 3, 3] and image["output_shape"] == [None, 4, 2, 2]
    kernel, bias, dense_kernel, dense_bias = (np.asarray(w) for w in sequence["weights"])
    assert kernel.shape == (3, 3 * 2, 3) and bias.shape == (3, 3)
    features = np.maximum(locally_connected(np.asarray(sequence["x"]), kernel, (2,), (3,)) + bias, 0)
    expected = features.reshape(3, -1) @ dense_kernel + dense_bias
    np.testing.assert_allclose(sequence["predictions"], expected, rtol=1e-5, atol=1e-5)
    kernel, bias, dense_kernel, dense_bias = (np.asarray(w) for w in image["weights"])
    assert kernel.shape == (4 * 2, 2 * 2 * 2, 2) and bias.shape == (4, 2, 2)
    features = np.tanh(locally_connected(np.asarray(image["x"]), kernel, (1, 2), (2, 2)) + bias)
    expected = sigmoid(features.reshape(3, -1) @ dense_kernel + dense_bias)
    np.testing.assert_allclose(image["predictions"], expected, rtol=1e-5, atol=1e-6)


def class_score_and_gradient(image, kernel, bias, dense_kernel, dense_bias, class_index):
    """Softmax probability of one class for one image (conv relu -> flatten -> dense) and its input gradient."""
    windows = np.lib.stride_tricks.sliding_window_view(image, kernel.shape[:2], axis=(0, 1))  # h, w, c, kh, kw
    pre = np.einsum("hwcij,ijcf->hwf", windows, kernel) + bias
    probabilities = softmax(np.maximum(pre, 0).reshape(-1) @ dense_kernel + dense_bias)
    d_logits = probabilities[class_index] * (np.eye(len(probabilities))[class_index] - probabilities)
    d_pre = (dense_kernel @ d_logits).reshape(pre.shape) * (pre > 0)
    gradient = np.zeros_like(image)
    for i, j in np.ndindex(*pre.shape[:2]):  # each output position spreads its gradient over its window
        gradient[i : i + kernel.shape[0], j : j + kernel.shape[1]] += kernel @ d_pre[i, j]
    return probabilities[class_index], gradient


def test_saliency_map_from_k_gradients_of_a_class_score():
    report = run_program("keras2_saliency.py")
    assert len(report["losses"]) == 1 and np.isfinite(report["losses"][0])
    weights = [np.asarray(w) for w in report["weights"]]
    expected = [class_score_and_gradient(image, *weights, 2) for image in np.asarray(report["images"])]
    np.testing.assert_allclose(report["scores"], [score for score, _ in expected], rtol=1e-5, atol=1e-7)
    gradients = np.stack([gradient for _, gradient in expected])
    assert np.count_nonzero(np.abs(gradients) > 1e-3) > gradients.size // 2  # the ReLUs leave most pixels live
    np.testing.assert_allclose(report["grads"], gradients, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(report["saliency"], np.abs(gradients).max(axis=-1), rtol=1e-4, atol=1e-6)


def ctc_loss(probs, label):
    """Minus the log-probability of `label` summed over all CTC alignments (blank last), by the forward recursion."""
    blank = probs.shape[1] - 1
    probs = (probs + 1e-7) / (probs + 1e-7).sum(axis=1, keepdims=True)  # Keras 2: log(p + epsilon), then softmax
    extended = [blank]
    for character in label:
        extended += [character, blank]
    alpha = np.zeros(len(extended))
    alpha[:2] = probs[0, extended[:2]]
    for step in probs[1:]:
        previous = alpha.copy()
        for s, character in enumerate(extended):
            total = previous[s] + (previous[s - 1] if s > 0 else 0)
            if s > 1 and character != blank and character != extended[s - 2]:
                total += previous[s - 2]
            alpha[s] = total * step[character]
    return -np.log(alpha[-1] + alpha[-2])


def test_ctc_model_in_the_image_ocr_pattern():
    report = run_program("keras2_ctc.py")
    losses = report["losses"]
    assert len(losses) == 8 and np.all(np.isfinite(losses)), losses
    assert losses[-1] < losses[0] - 0.5, losses  # Adam(lr=0.02) on four samples: the CTC loss drops
    assert report["network_out_shape"] == [4, 10, 4] and report["decoded_trained_shape"][0] == 4
    # Greedy decoding: best class per step, repeats merged, blanks dropped (padding with -1 ignored).
    decoded = [[c for c in row if c != -1] for row in report["decoded"]]
    assert decoded == [[0, 1, 1, 2], [2, 2]]
    probs = np.asarray(report["probs"], dtype="float64")
    expected = [ctc_loss(probs[0], [0, 1, 1, 2]), ctc_loss(probs[1, :4], [2, 2])]
    np.testing.assert_allclose(np.ravel(report["fixed_loss"]), expected, rtol=1e-5)
