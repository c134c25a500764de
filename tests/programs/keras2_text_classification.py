"""A Keras 2.3-style text classifier: `Tokenizer` + `pad_sequences` feeding a masked Embedding model.

Run it with `lamina run tests/programs/keras2_text_classification.py`. It numbers the words, pads the
sequences, trains briefly, then loads fixed weights and prints everything (as JSON) for the test to check.
"""

import json

import numpy as np
from keras.layers import Dense, Embedding, GlobalAveragePooling1D
from keras.models import Sequential
from keras.preprocessing.sequence import pad_sequences
from keras.preprocessing.text import Tokenizer

texts = [
    "The movie was great",
    "the movie was bad",
    "Great acting, great story!",
    "bad plot and bad acting",
    "I loved the story",
    "I hated the plot",
]
labels = np.array([1, 0, 1, 0, 1, 0])
max_words, max_len = 10, 5

tokenizer = Tokenizer(num_words=max_words, oov_token="<unk>")
tokenizer.fit_on_texts(texts)
sequences = tokenizer.texts_to_sequences(texts)
x_train = pad_sequences(sequences, maxlen=max_len)
x_test = pad_sequences(tokenizer.texts_to_sequences(["the story was terrible"]), maxlen=max_len, padding="post")

model = Sequential()
model.add(Embedding(max_words, 4, input_length=max_len, mask_zero=True))
model.add(GlobalAveragePooling1D())
model.add(Dense(1, activation="sigmoid"))
model.compile(loss="binary_crossentropy", optimizer="adam", metrics=["acc"])
history = model.fit(x_train, labels, batch_size=3, epochs=2, verbose=0)

rng = np.random.RandomState(3)
weights = [rng.randn(*w.shape).astype("float32") for w in model.get_weights()]
model.set_weights(weights)
x_all = np.concatenate([x_train, x_test])
print(
    json.dumps(
        {
            "word_index": tokenizer.word_index,
            "sequences": sequences,
            "x_train": x_train.tolist(),
            "x_test": x_test.tolist(),
            "losses": [float(loss) for loss in history.history["loss"]],
            "weights": [w.tolist() for w in weights],
            "predictions": model.predict(x_all, verbose=0).tolist(),
        }
    )
)
