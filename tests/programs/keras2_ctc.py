"""A Keras 2.3-style CTC model in the pattern of Keras 2's image_ocr example.

Run it with `lamina run tests/programs/keras2_ctc.py`. The loss is computed inside the model by a Lambda layer
calling `K.ctc_batch_cost`, and compiled as `{'ctc': lambda y_true, y_pred: y_pred}`. It trains a few steps,
then decodes with `K.ctc_decode` and prints the losses, a fixed probability matrix, its CTC loss and its
greedy decoding (as JSON) for the test to check with NumPy.
"""

import json

import numpy as np
from keras import backend as K
from keras.layers import Activation, Conv1D, Dense, Input, Lambda
from keras.models import Model
from keras.optimizers import Adam

time_steps, features, max_label_len = 10, 5, 3
num_classes = 3 + 1  # three characters and the CTC blank (the last class)


def ctc_lambda_func(args):
    y_pred, labels, input_length, label_length = args
    # As in image_ocr: the first couple of outputs of the network tend to be garbage.
    y_pred = y_pred[:, 2:, :]
    return K.ctc_batch_cost(labels, y_pred, input_length, label_length)


input_data = Input(name="the_input", shape=(time_steps, features), dtype="float32")
inner = Conv1D(16, 3, padding="same", activation="relu", name="conv1")(input_data)
inner = Dense(num_classes, name="dense2")(inner)
y_pred = Activation("softmax", name="softmax")(inner)
labels = Input(name="the_labels", shape=[max_label_len], dtype="float32")
input_length = Input(name="input_length", shape=[1], dtype="int64")
label_length = Input(name="label_length", shape=[1], dtype="int64")
loss_out = Lambda(ctc_lambda_func, output_shape=(1,), name="ctc")([y_pred, labels, input_length, label_length])
model = Model(inputs=[input_data, labels, input_length, label_length], outputs=loss_out)
model.compile(loss={"ctc": lambda y_true, y_pred: y_pred}, optimizer=Adam(lr=0.02))

rng = np.random.RandomState(6)
n = 4
inputs = {
    "the_input": rng.rand(n, time_steps, features).astype("float32"),
    "the_labels": np.array([[0, 1, 2], [1, 1, 0], [2, 0, 0], [0, 2, 1]], dtype="float32"),
    "input_length": np.full((n, 1), time_steps - 2),
    "label_length": np.array([[3], [3], [1], [3]]),
}
outputs = {"ctc": np.zeros([n])}  # dummy targets: the loss is the model's output
history = model.fit(inputs, outputs, batch_size=n, epochs=8, verbose=0)

test_func = K.function([input_data], [y_pred])
network_out = test_func([inputs["the_input"]])[0]
decoded_trained = K.get_value(K.ctc_decode(network_out, input_length=np.full(n, time_steps), greedy=True)[0][0])

# A fixed probability matrix: best paths "0 0 _ 1 1 _ 1 2" (length 8) and "2 _ 2 2" (length 4).
best_paths = [[0, 0, 3, 1, 1, 3, 1, 2], [2, 3, 2, 2, 0, 0, 0, 0]]
probs = np.full((2, 8, num_classes), 0.1, dtype="float32")
for row, path in enumerate(best_paths):
    probs[row, np.arange(8), path] = 0.7
fixed_lengths = np.array([8, 4])
decoded, log_prob = K.ctc_decode(probs, input_length=fixed_lengths, greedy=True)
fixed_labels = np.array([[0, 1, 1, 2], [2, 2, 0, 0]])
fixed_loss = K.eval(K.ctc_batch_cost(fixed_labels, probs, fixed_lengths[:, None], np.array([[4], [2]])))
print(
    json.dumps(
        {
            "losses": [float(loss) for loss in history.history["loss"]],
            "network_out_shape": list(network_out.shape),
            "decoded_trained_shape": list(np.shape(decoded_trained)),
            "probs": probs.tolist(),
            "decoded": K.get_value(decoded[0]).tolist(),
            "fixed_loss": np.asarray(fixed_loss).tolist(),
        }
    )
)
