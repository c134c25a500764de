"""Keras 2's scikit-learn wrappers: a model-building function as a scikit-learn estimator.

`KerasClassifier` and `KerasRegressor` take `build_fn` (a function returning a compiled model, an object
with `__call__`, or None with a subclass's own `__call__`) and keyword arguments (`sk_params`) that go to
`build_fn` or to `fit`/`predict`/`predict_proba`/`evaluate`, each by its own argument names, as in Keras 2.3.
They follow scikit-learn's estimator protocol (`get_params`/`set_params`, `clone`, `GridSearchCV`,
`cross_val_score`) without importing scikit-learn until scikit-learn itself asks for their tags.

Example:
    >>> def make_model(units=8):
    ...     model = Sequential([Dense(units, activation="relu", input_shape=(4,)), Dense(3, activation="softmax")])
    ...     model.compile("adam", "sparse_categorical_crossentropy", metrics=["accuracy"])
    ...     return model
    >>> clf = KerasClassifier(build_fn=make_model, epochs=5, batch_size=16, verbose=0)
    >>> GridSearchCV(clf, {"units": [8, 16]}, cv=3).fit(x, y)
"""

from __future__ import annotations

import inspect
import types

import numpy as np

from lamina.models import Model, Sequential
from lamina.utils import to_categorical

__all__ = ["BaseWrapper", "KerasClassifier", "KerasRegressor"]


def _argument_names(fn) -> set:
    """The names `fn` takes by keyword, not counting `*args`/`**kwargs` (Keras 2's `has_arg`)."""
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {name for name, p in inspect.signature(fn).parameters.items() if p.kind in kinds}


def _is_categorical_crossentropy(loss) -> bool:
    """Whether a compiled loss is categorical crossentropy, as a name, a function or a Loss object."""
    from lamina import losses

    if isinstance(loss, losses.CategoricalCrossentropy):
        return True
    name = loss if isinstance(loss, str) else getattr(loss, "__name__", None)
    return name == "categorical_crossentropy"


def _compiled_loss(model):
    loss = getattr(model, "loss", None)
    if loss is None:
        loss = (getattr(model, "_compile_config", None) or {}).get("loss")
    return loss


class BaseWrapper:
    """The shared part of `KerasClassifier` and `KerasRegressor`.

    Args:
        build_fn: a function (or an object with `__call__`) that builds, compiles and returns a model;
            None to use the subclass's own `__call__`.
        **sk_params: arguments of `build_fn` and of the model's `fit`, `predict`, `predict_proba`
            and `evaluate` (`epochs`, `batch_size`, `verbose`, ...). Each call receives the ones it takes.

    Raises:
        ValueError: an `sk_params` name that none of those functions takes.

    Example:
        >>> wrapper = KerasRegressor(build_fn=make_model, epochs=10, verbose=0)
        >>> wrapper.get_params()["epochs"]
        10
    """

    _estimator_type = None

    def __init__(self, build_fn=None, **sk_params):
        self.build_fn = build_fn
        self.sk_params = sk_params
        self.check_params(sk_params)

    # ------------------------------------------------------------ parameters
    def _build_target(self):
        """The function whose argument names select the build arguments, and the callable to call."""
        if self.build_fn is None:
            return self.__call__, self.__call__
        if isinstance(self.build_fn, (types.FunctionType, types.MethodType)):
            return self.build_fn, self.build_fn
        return self.build_fn.__call__, self.build_fn

    def check_params(self, params) -> None:
        """Raises ValueError for a parameter that neither `build_fn` nor fit/predict/evaluate takes.

        Example:
            >>> wrapper.check_params({"epochs": 3})  # fine
        """
        if self.build_fn is None and not callable(self):
            raise ValueError(f"{type(self).__name__}: build_fn is None and the class defines no __call__.")
        if self.build_fn is not None and not callable(self.build_fn):
            raise TypeError(f"{type(self).__name__}: build_fn must be callable, got {self.build_fn!r}.")
        legal = set().union(
            *(
                _argument_names(fn)
                for fn in (Sequential.fit, Sequential.predict, Sequential.predict_classes, Model.evaluate)
            ),
            _argument_names(self._build_target()[0]),
        )
        for name in params:
            if name not in legal and name != "nb_epoch":  # Keras 2 let the Keras 1 name through, unused
                raise ValueError(
                    f"{name} is not a legal parameter of {type(self).__name__}: it is not an argument of "
                    "build_fn, fit, predict, predict_classes or evaluate."
                )

    def get_params(self, deep=True) -> dict:
        """`build_fn` and the `sk_params`, as scikit-learn's `clone` and grid searches read them.

        Example:
            >>> KerasClassifier(build_fn=make_model, epochs=3).get_params()
            {'epochs': 3, 'build_fn': <function make_model ...>}
        """
        params = dict(self.sk_params)
        params["build_fn"] = self.build_fn
        return params

    def set_params(self, **params):
        """Updates `sk_params` (checked as in the constructor) and returns the wrapper.

        Example:
            >>> wrapper.set_params(epochs=20)
        """
        if "build_fn" in params:
            self.build_fn = params.pop("build_fn")
        self.check_params(params)
        self.sk_params.update(params)
        return self

    def filter_sk_params(self, fn, override=None) -> dict:
        """The `sk_params` that `fn` takes by name, updated with `override`.

        Example:
            >>> KerasClassifier(make_model, epochs=3, units=8).filter_sk_params(make_model)
            {'units': 8}
        """
        names = _argument_names(fn)
        selected = {name: value for name, value in self.sk_params.items() if name in names}
        selected.update(override or {})
        return selected

    def __repr__(self) -> str:
        params = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({params})"

    # ----------------------------------------------------------------- fit
    def _build_model(self):
        names_from, build = self._build_target()
        model = build(**self.filter_sk_params(names_from))
        if not hasattr(model, "fit"):
            raise TypeError(f"{type(self).__name__}: build_fn must return a compiled model, got {model!r}.")
        return model

    def fit(self, x, y, **kwargs):
        """Builds a new model with `build_fn` and trains it on x, y; returns the History.

        Integer labels become one-hot when the model's loss is categorical crossentropy (Keras 2).
        `kwargs` override the `sk_params` given to the model's `fit`.

        Example:
            >>> history = wrapper.fit(x_train, y_train)
        """
        self.model = self._build_model()
        y = np.asarray(y)
        if _is_categorical_crossentropy(_compiled_loss(self.model)) and y.ndim != 2:
            y = to_categorical(y, getattr(self, "n_classes_", None))
        fit_args = self.filter_sk_params(Sequential.fit, kwargs)
        return self.model.fit(x, y, **fit_args)

    def _check_fitted(self, what: str) -> None:
        if getattr(self, "model", None) is None:
            raise RuntimeError(f"{type(self).__name__} must be fitted before {what}(): call fit(x, y) first.")


class KerasClassifier(BaseWrapper):
    """scikit-learn's classifier interface over a Keras model (Keras 2.3's `KerasClassifier`).

    `fit` reads the classes from y (labels of any sortable kind, or one-hot rows); `predict` gives labels
    from those classes, `predict_proba` the probabilities (two columns for a one-unit sigmoid output),
    `score` the model's accuracy metric, which must be compiled in (`metrics=["accuracy"]`).

    Example:
        >>> clf = KerasClassifier(build_fn=make_model, epochs=5, verbose=0)
        >>> cross_val_score(clf, x, y, cv=3)
    """

    _estimator_type = "classifier"

    def __sklearn_tags__(self):
        from sklearn.utils import ClassifierTags, Tags, TargetTags

        return Tags(
            estimator_type="classifier", target_tags=TargetTags(required=True), classifier_tags=ClassifierTags()
        )

    def fit(self, x, y, sample_weight=None, **kwargs):
        """Finds the classes in y, then builds and trains the model (see `BaseWrapper.fit`).

        Example:
            >>> clf.fit(x_train, np.array(["cat", "dog", "cat"]))
        """
        y = np.asarray(y)
        if y.ndim == 2 and y.shape[1] > 1:
            self.classes_ = np.arange(y.shape[1])  # one-hot rows: the column indices are the classes
        elif y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1):
            self.classes_, y = np.unique(y.ravel(), return_inverse=True)
        else:
            raise ValueError(f"{type(self).__name__}: y must be shaped (n,), (n, 1) or (n, classes), got {y.shape}.")
        self.n_classes_ = len(self.classes_)
        if sample_weight is not None:
            kwargs["sample_weight"] = sample_weight
        return super().fit(x, y, **kwargs)

    def predict(self, x, **kwargs):
        """The predicted labels, shaped (n,): the argmax class, or probability > 0.5 for one sigmoid unit.

        Example:
            >>> clf.predict(x_test)
            array(['cat', 'dog', ...])
        """
        self._check_fitted("predict")
        probabilities = self.model.predict(x, **self.filter_sk_params(Sequential.predict_classes, kwargs))
        if probabilities.shape[-1] > 1:
            indices = probabilities.argmax(axis=-1)
        else:
            indices = (probabilities[..., 0] > 0.5).astype("int32")
        return self.classes_[indices]

    def predict_proba(self, x, **kwargs):
        """Class probabilities, shaped (n, classes); a one-unit output gives the columns [1 - p, p].

        Example:
            >>> clf.predict_proba(x_test)[:, 1]
        """
        self._check_fitted("predict_proba")
        probabilities = self.model.predict(x, **self.filter_sk_params(Sequential.predict_proba, kwargs))
        if probabilities.ndim == 2 and probabilities.shape[1] == 1:
            probabilities = np.hstack([1 - probabilities, probabilities])
        return probabilities

    def score(self, x, y, **kwargs):
        """The model's accuracy on x, y, from `evaluate` (the metric named "accuracy" or "acc").

        Raises:
            ValueError: the model was compiled without an accuracy metric.

        Example:
            >>> clf.score(x_test, y_test)
            0.93
        """
        self._check_fitted("score")
        y = np.asarray(y)
        if not (y.ndim == 2 and y.shape[1] > 1):
            y = np.searchsorted(self.classes_, y.ravel())
            if _is_categorical_crossentropy(_compiled_loss(self.model)):
                y = to_categorical(y, self.n_classes_)
        evaluate_args = self.filter_sk_params(Model.evaluate, kwargs)
        evaluate_args["return_dict"] = True
        results = self.model.evaluate(x, y, **evaluate_args)
        for name in ("accuracy", "acc"):
            if name in results:
                return float(results[name])
        raise ValueError(
            f"{type(self).__name__}.score needs the model's accuracy, but it was compiled with metrics "
            f"{sorted(k for k in results if k != 'loss')}: pass metrics=['accuracy'] to model.compile()."
        )


class KerasRegressor(BaseWrapper):
    """scikit-learn's regressor interface over a Keras model (Keras 2.3's `KerasRegressor`).

    `predict` gives the model's outputs with size-1 dimensions squeezed; `score` is minus the loss,
    so that scikit-learn's "greater is better" holds.

    Example:
        >>> reg = KerasRegressor(build_fn=make_model, epochs=10, verbose=0)
        >>> cross_val_score(reg, x, y, cv=3)  # each is -mse on its fold
    """

    _estimator_type = "regressor"

    def __sklearn_tags__(self):
        from sklearn.utils import RegressorTags, Tags, TargetTags

        return Tags(estimator_type="regressor", target_tags=TargetTags(required=True), regressor_tags=RegressorTags())

    def predict(self, x, **kwargs):
        """The model's predictions with size-1 dimensions squeezed away ((n,) for one output unit).

        Example:
            >>> reg.predict(x_test).shape
            (100,)
        """
        self._check_fitted("predict")
        return np.squeeze(self.model.predict(x, **self.filter_sk_params(Sequential.predict, kwargs)))

    def score(self, x, y, **kwargs):
        """Minus the model's loss on x, y (from `evaluate`).

        Example:
            >>> reg.score(x_test, y_test)
            -0.42
        """
        self._check_fitted("score")
        evaluate_args = self.filter_sk_params(Model.evaluate, kwargs)
        evaluate_args["return_dict"] = True
        return -float(self.model.evaluate(x, y, **evaluate_args)["loss"])
