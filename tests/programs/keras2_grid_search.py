"""A Keras 2.3-style hyper-parameter search: `KerasClassifier` inside scikit-learn's `GridSearchCV`.

Run it with `lamina run tests/programs/keras2_grid_search.py`. It searches hidden sizes over two fixed folds
(epochs going to every `fit`), keeps every model `build_fn` made, and prints their weights and the search's
scores (as JSON) for the test to recompute each score with NumPy.
"""

import json

import numpy as np
from keras.layers import Dense
from keras.models import Sequential
from keras.wrappers.scikit_learn import KerasClassifier
from sklearn.model_selection import GridSearchCV

rng = np.random.RandomState(11)
y = np.tile([0, 1, 2], 8)  # every fold holds every class
x = (rng.randn(3, 4)[y] + 0.8 * rng.randn(24, 4)).astype("float32")
folds = [(np.arange(0, 12), np.arange(12, 24)), (np.arange(12, 24), np.arange(0, 12))]
built = []


def make_model(units=4):
    model = Sequential()
    model.add(Dense(units, activation="relu", input_shape=(4,)))
    model.add(Dense(3, activation="softmax"))
    model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    built.append(model)
    return model


classifier = KerasClassifier(build_fn=make_model, epochs=2, verbose=0)
search = GridSearchCV(classifier, param_grid={"units": [3, 8]}, cv=folds)
search.fit(x, y)

results = search.cv_results_
print(
    json.dumps(
        {
            "x": x.tolist(),
            "y": y.tolist(),
            "folds": [[train.tolist(), test.tolist()] for train, test in folds],
            "params": results["params"],
            "split_scores": [results[f"split{k}_test_score"].tolist() for k in range(len(folds))],
            "mean_scores": results["mean_test_score"].tolist(),
            "best_params": search.best_params_,
            "epochs_run": [len(model.history.history["loss"]) for model in built],
            "weights": [[w.tolist() for w in model.get_weights()] for model in built],
            "best_predictions": search.predict(x).tolist(),
        }
    )
)
