"""A tf.keras 2.x-style program: `import tensorflow as tf` and `from tensorflow.keras import layers`.

Run it with `lamina run tests/programs/tf_keras_functional.py`. It builds a small functional model with fixed
weights and prints its predictions (as JSON) for the test to compare with NumPy.
"""

import json

import numpy as np
import tensorflow as tf
from tensorflow.keras import layers

inputs = tf.keras.Input(shape=(3,))
hidden = layers.Dense(4, activation="tanh")(inputs)
outputs = layers.Dense(2)(hidden)
model = tf.keras.Model(inputs, outputs)
model.compile(optimizer=tf.keras.optimizers.Adam(learning_rate=0.01), loss="mse")

rng = np.random.RandomState(3)
weights = [rng.randn(*w.shape).astype("float32") for w in model.get_weights()]
model.set_weights(weights)
x = rng.rand(4, 3).astype("float32")
try:
    tf.constant(1.0)
    stand_in = "tensorflow itself"
except AttributeError as error:
    stand_in = str(error)
print(
    json.dumps(
        {
            "weights": [w.tolist() for w in weights],
            "x": x.tolist(),
            "predictions": model.predict(x, verbose=0).tolist(),
            "stand_in": stand_in,
        }
    )
)
