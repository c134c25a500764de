"""A Keras 2.3-style program with unshared convolutions: `LocallyConnected1D` and `LocallyConnected2D`.

Run it with `lamina run tests/programs/keras2_locally_connected.py`. It trains a sequence model and an image
model briefly, then loads fixed weights and prints the predictions (as JSON) for the test to compare with a
NumPy dot product per output position.
"""

import json

import numpy as np
from keras.layers import Dense, Flatten, LocallyConnected1D, LocallyConnected2D
from keras.models import Sequential

rng = np.random.RandomState(2)

sequence_model = Sequential()
sequence_model.add(LocallyConnected1D(3, 3, strides=2, activation="relu", input_shape=(7, 2)))
sequence_model.add(Flatten())
sequence_model.add(Dense(1))
sequence_model.compile(loss="mse", optimizer="sgd")

image_model = Sequential()
image_model.add(LocallyConnected2D(2, (2, 2), strides=(1, 2), activation="tanh", input_shape=(5, 4, 2)))
image_model.add(Flatten())
image_model.add(Dense(1, activation="sigmoid"))
image_model.compile(loss="binary_crossentropy", optimizer="adam")

report = {}
for name, model, shape in [("sequence", sequence_model, (7, 2)), ("image", image_model, (5, 4, 2))]:
    x_train = rng.rand(16, *shape).astype("float32")
    y_train = (x_train.reshape(16, -1).mean(axis=1) > 0.5).astype("float32")
    history = model.fit(x_train, y_train, batch_size=16, epochs=2, verbose=0)
    weights = [rng.randn(*w.shape).astype("float32") for w in model.get_weights()]
    model.set_weights(weights)
    x_test = rng.rand(3, *shape).astype("float32")
    report[name] = {
        "losses": [float(loss) for loss in history.history["loss"]],
        "output_shape": list(model.layers[0].output_shape),
        "weights": [w.tolist() for w in weights],
        "x": x_test.tolist(),
        "predictions": model.predict(x_test).tolist(),
    }
print(json.dumps(report))
