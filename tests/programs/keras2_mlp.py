"""A Keras 2.3-style program: a Sequential MLP on random data, with Keras 2 module paths and arguments.

Run it with `lamina run tests/programs/keras2_mlp.py`. It trains briefly, then loads fixed weights and prints
the predictions (as JSON) for the test to compare with NumPy.
"""

import json

import numpy as np
from keras.layers.core import Activation, Dense, Dropout
from keras.models import Sequential
from keras.optimizers import SGD
from keras.utils import np_utils

rng = np.random.RandomState(7)
x_train = rng.rand(64, 4).astype("float32")
y_train = np_utils.to_categorical(rng.randint(0, 3, size=64), 3)

model = Sequential()
model.add(Dense(8, input_dim=4, kernel_initializer="glorot_uniform"))
model.add(Activation("relu"))
model.add(Dropout(0.5))
model.add(Dense(3))
model.add(Activation("softmax"))
sgd = SGD(lr=0.05, decay=1e-6, momentum=0.9, nesterov=True)
model.compile(loss="categorical_crossentropy", optimizer=sgd, metrics=["accuracy"])
history = model.fit(x_train, y_train, epochs=2, batch_size=16, verbose=0)

weights = [rng.randn(*w.shape).astype("float32") for w in model.get_weights()]
model.set_weights(weights)
x_test = rng.rand(5, 4).astype("float32")
print(
    json.dumps(
        {
            "losses": [float(loss) for loss in history.history["loss"]],
            "learning_rate": float(np.asarray(model.optimizer.learning_rate)),
            "weights": [w.tolist() for w in weights],
            "x": x_test.tolist(),
            "predictions": model.predict(x_test, verbose=0).tolist(),
        }
    )
)
