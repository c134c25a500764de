"""`ImageDataGenerator.flow_from_dataframe`'s iterator: image files and their targets listed in a pandas DataFrame.

pandas is needed only here, and imported only when such an iterator is made (`pip install pandas`).
"""

from __future__ import annotations

import os
import warnings

import numpy as np

from lamina.preprocessing._image_iterators import FilesIterator

__all__ = ["DataFrameIterator"]

# The class modes whose targets are class indices (and so have `classes` and `class_indices`).
_CLASS_MODES = ("binary", "categorical", "sparse")


_RETIRED = {
    "has_ext": "has_ext is deprecated, filenames in the dataframe have to contain the extension.",
    "sort": "sort is deprecated, batches will be created in the same order than the filenames provided if "
    "shuffle is set to False.",
    "drop_duplicates": "drop_duplicates is deprecated, you can drop duplicates by using the "
    "pandas.DataFrame.drop_duplicates method.",
}


def retired_arguments(class_mode, kwargs: dict):
    """Warns about Keras 2's retired flow_from_dataframe arguments; the class mode, with "other" read as "raw"."""
    unknown = sorted(set(kwargs) - set(_RETIRED))
    if unknown:
        raise TypeError(f"flow_from_dataframe() got unexpected keyword argument(s) {unknown}.")
    for name in kwargs:
        warnings.warn(_RETIRED[name], DeprecationWarning, stacklevel=3)
    if class_mode == "other":
        message = '`class_mode` "other" is deprecated, please use `class_mode` "raw".'
        warnings.warn(message, DeprecationWarning, stacklevel=3)
        return "raw"
    return class_mode


def import_pandas():
    """The pandas module, or an ImportError that says how to install it."""
    try:
        import pandas
    except ImportError:
        raise ImportError(
            "ImageDataGenerator.flow_from_dataframe (DataFrameIterator) needs pandas, which is not installed: "
            "`pip install pandas`."
        ) from None
    return pandas


class DataFrameIterator(FilesIterator):
    """Batches of images whose files (and targets) a pandas DataFrame lists, as Keras 2.3's (keras_preprocessing 1.1).

    Rows keep the DataFrame's order. With `validate_filenames`, rows whose file is missing or is not an image
    (by extension) are dropped with a warning; with a class mode that has classes, rows with none of the
    `classes` are dropped too. `validation_split` subsets take the first (validation) or the remaining
    (training) fraction of the rows left.

    Args:
        dataframe: a `pandas.DataFrame`. Column `x_col` holds file paths, relative to `directory` or
            absolute when `directory` is None.
        y_col: the target column: for "categorical" a class name (a string) or a list of them per row
            (multi-label); for "binary"/"sparse" a class name; for "raw" one column or a list of columns,
            passed as they are; for "multi_output" a list of columns, one target array each.
        weight_col: a numeric column of per-image sample weights (the batches become `(x, y, weight)`).
        classes: the class names to keep; default: every class found. `class_indices` numbers them in
            sorted order.
        class_mode: "categorical" (one-hot or multi-hot), "binary" (0./1.), "sparse" (the index),
            "input" (the images), "multi_output", "raw", or None (images only).
        validate_filenames: drop the rows whose image file is missing or has another extension.
        The rest as `DirectoryIterator`.

    Example:
        >>> frame = pandas.DataFrame({"filename": ["a.png", "b.png"], "class": ["cat", "dog"]})
        >>> it = DataFrameIterator(frame, "images", ImageDataGenerator(), target_size=(32, 32))
        >>> it.class_indices
        {'cat': 0, 'dog': 1}
    """

    allowed_class_modes = {"binary", "categorical", "input", "multi_output", "raw", "sparse", None}

    def __init__(
        self,
        dataframe,
        directory=None,
        image_data_generator=None,
        x_col="filename",
        y_col="class",
        weight_col=None,
        target_size=(256, 256),
        color_mode="rgb",
        classes=None,
        class_mode="categorical",
        batch_size=32,
        shuffle=True,
        seed=None,
        data_format="channels_last",
        save_to_dir=None,
        save_prefix="",
        save_format="png",
        subset=None,
        interpolation="nearest",
        keep_aspect_ratio=False,
        dtype="float32",
        validate_filenames=True,
    ):
        pandas = import_pandas()
        if not isinstance(dataframe, pandas.DataFrame):
            raise TypeError(f"`dataframe` must be a pandas DataFrame, got {type(dataframe).__name__}.")
        saving = (save_to_dir, save_prefix, save_format)
        self._set_processing_attrs(
            image_data_generator,
            target_size,
            color_mode,
            class_mode,
            data_format,
            saving,
            subset,
            interpolation,
            keep_aspect_ratio,
            dtype,
        )
        self.directory = directory or ""
        self.x_col, self.y_col, self.weight_col = x_col, y_col, weight_col
        frame = dataframe.copy()
        _check_frame(frame, x_col, y_col, weight_col, class_mode, classes)
        if validate_filenames:
            frame = self._keep_valid_files(frame, x_col)
        self.classes = None
        if class_mode in _CLASS_MODES:
            frame, classes = _keep_classes(frame, y_col, classes)
            self.num_classes = len(classes)
            self.class_indices = {name: index for index, name in enumerate(classes)}
        if self.split:
            start, stop = (int(fraction * len(frame)) for fraction in self.split)
            frame = frame.iloc[start:stop]
        self._read_targets(frame, class_mode)
        self.filenames = frame[x_col].tolist()
        self.samples = len(self.filenames)
        found = "validated" if validate_filenames else "non-validated"
        belonging = f" belonging to {self.num_classes} classes" if class_mode in _CLASS_MODES else ""
        print(f"Found {self.samples} {found} image filenames{belonging}.")
        self._filepaths = [os.path.join(self.directory, name) for name in self.filenames]
        super().__init__(self.samples, batch_size, shuffle, seed)

    def _read_targets(self, frame, class_mode) -> None:
        """Sets `classes` (class indices per row), `_targets` ("raw"/"multi_output") and the sample weights."""
        y_col = self.y_col
        if class_mode in _CLASS_MODES:
            indices = self.class_indices
            self.classes = [
                [indices[name] for name in label] if isinstance(label, (list, tuple)) else indices[label]
                for label in frame[y_col]
            ]
        if class_mode == "multi_output":
            self._targets = [np.array(frame[column].tolist()) for column in y_col]
        elif class_mode == "raw":
            self._targets = frame[y_col].to_numpy()
        self._sample_weight = frame[self.weight_col].to_numpy() if self.weight_col else None

    def _keep_valid_files(self, frame, x_col):
        """The rows whose file exists and has an image extension; a warning counts the others."""
        extensions = self.white_list_formats

        def valid(name: str) -> bool:
            path = os.path.join(self.directory, name)
            return path.lower().endswith(extensions) and os.path.isfile(path)

        keep = frame[x_col].map(valid).astype(bool)
        dropped = int((~keep).sum())
        if dropped:
            warnings.warn(
                f'Found {dropped} invalid image filename(s) in x_col="{x_col}". These filename(s) will be ignored.',
                stacklevel=3,
            )
        return frame[keep]

    @property
    def labels(self):
        """The targets: class indices per image, or the "raw" / "multi_output" target arrays."""
        if self.class_mode in ("multi_output", "raw"):
            return self._targets
        return self.classes

    @property
    def sample_weight(self):
        """The `weight_col` value of every image, or None."""
        return self._sample_weight


def _columns(y_col) -> list:
    return list(y_col) if isinstance(y_col, (list, tuple)) else [y_col]


def _check_frame(frame, x_col, y_col, weight_col, class_mode, classes) -> None:
    """Keras 2's checks of the DataFrame against the class mode, with errors that name the column."""
    needed = [
        x_col,
        *(_columns(y_col) if class_mode not in ("input", None) else []),
        *([weight_col] * bool(weight_col)),
    ]
    missing = [column for column in needed if column not in frame.columns]
    if missing:
        raise ValueError(
            f"flow_from_dataframe: column(s) {missing} not in the DataFrame's columns {list(frame.columns)}."
        )
    if class_mode == "multi_output" and not isinstance(y_col, list):
        raise TypeError(f'If class_mode="multi_output", y_col must be a list. Received {type(y_col).__name__}.')
    if not frame[x_col].map(lambda value: isinstance(value, str)).all():
        raise TypeError(f"All values in column x_col={x_col} must be strings.")
    if class_mode in ("binary", "sparse") and not frame[y_col].map(lambda value: isinstance(value, str)).all():
        raise TypeError(f'If class_mode="{class_mode}", y_col="{y_col}" column values must be strings.')
    if class_mode == "binary":
        count = len(set(classes)) if classes else frame[y_col].nunique()
        if count != 2:
            given = "were given" if classes else "found"
            raise ValueError(f'If class_mode="binary" there must be 2 classes, {count} class(es) {given}.')
    if class_mode == "categorical" and not frame[y_col].map(lambda v: isinstance(v, (str, list, tuple))).all():
        raise TypeError(
            f'If class_mode="categorical", y_col="{y_col}" column values must be type string, list or tuple.'
        )
    if classes and class_mode not in _CLASS_MODES:
        warnings.warn(f'`classes` will be ignored given the class_mode="{class_mode}"', stacklevel=4)
    types = import_pandas().api.types
    weights = frame[weight_col] if weight_col else None
    if weight_col and (not types.is_numeric_dtype(weights) or types.is_bool_dtype(weights)):
        raise TypeError(f"Column weight_col={weight_col} must be numeric, got dtype {frame[weight_col].dtype}.")


def _keep_classes(frame, y_col, classes):
    """(the rows that have at least one of `classes`, each label cut to those classes; the sorted classes)."""
    if not classes:
        found = set()
        for label in frame[y_col]:
            found.update(label if isinstance(label, (list, tuple)) else [label])
        return frame, sorted(found)
    wanted = list(dict.fromkeys(classes))  # unique, for membership tests

    def kept(label):
        if isinstance(label, (list, tuple)):
            return [name for name in label if name in wanted] or None
        if isinstance(label, str):
            return label if label in wanted else None
        raise TypeError(f"Expected a string, list or tuple in column {y_col!r}, found {type(label).__name__}.")

    frame = frame.copy()
    frame[y_col] = frame[y_col].map(kept).astype(object)
    return frame.dropna(subset=[y_col]), sorted(wanted)
