"""A Keras 2.3-style saliency map: the gradient of a class score with respect to the input image, by `K.gradients`.

Run it with `lamina run tests/programs/keras2_saliency.py`. It trains a small convnet briefly, loads fixed
weights, then builds `K.function([model.input], [score, grads])` and prints the scores, gradients and the
saliency map (as JSON) for the test to compare with a NumPy gradient.
"""

import json

import numpy as np
from keras import backend as K
from keras.layers import Conv2D, Dense, Flatten
from keras.models import Sequential
from keras.utils import to_categorical

rng = np.random.RandomState(4)
model = Sequential()
model.add(Conv2D(2, (3, 3), activation="relu", input_shape=(5, 5, 1)))
model.add(Flatten())
model.add(Dense(3, activation="softmax"))
model.compile(loss="categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
x_train = rng.rand(8, 5, 5, 1).astype("float32")
history = model.fit(x_train, to_categorical(rng.randint(0, 3, size=8), 3), batch_size=4, epochs=1, verbose=0)

weights = [rng.randn(*w.shape).astype("float32") for w in model.get_weights()]
model.set_weights(weights)

class_index = 2
score = model.output[:, class_index]
grads = K.gradients(score, model.input)[0]
iterate = K.function([model.input], [score, grads])
images = rng.rand(2, 5, 5, 1).astype("float32")
score_values, grads_values = iterate([images])
saliency = np.max(np.abs(grads_values), axis=-1)
print(
    json.dumps(
        {
            "losses": [float(loss) for loss in history.history["loss"]],
            "weights": [w.tolist() for w in weights],
            "images": images.tolist(),
            "scores": np.asarray(score_values).tolist(),
            "grads": np.asarray(grads_values).tolist(),
            "saliency": saliency.tolist(),
        }
    )
)
