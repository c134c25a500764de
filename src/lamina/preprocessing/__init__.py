"""Keras 2's `keras.preprocessing`: data helpers in NumPy that run before a model sees the data.

- `lamina.preprocessing.sequence`: `pad_sequences`, `skipgrams`, `make_sampling_table`, `TimeseriesGenerator`.
- `lamina.preprocessing.image`: `load_img`, `img_to_array`, `array_to_img`, `save_img`, `ImageDataGenerator`
  (Pillow and SciPy, imported when used).
- `lamina.preprocessing.text`: `Tokenizer`, `tokenizer_from_json`, `one_hot`, `hashing_trick`,
  `text_to_word_sequence`.
- `image_dataset_from_directory`, `text_dataset_from_directory`, `timeseries_dataset_from_array`
  (as tf.keras 2.x had them here; the same functions as in `lamina.utils`).

Example:
    >>> from lamina.preprocessing.sequence import pad_sequences
    >>> from lamina.preprocessing.text import Tokenizer
    >>> tokenizer = Tokenizer(num_words=1000)
    >>> tokenizer.fit_on_texts(["a good film", "a bad film"])
    >>> x = pad_sequences(tokenizer.texts_to_sequences(["a good film"]), maxlen=5)
"""

from lamina.preprocessing import image as image
from lamina.preprocessing import sequence as sequence
from lamina.preprocessing import text as text
from lamina.utils.dataset_utils import text_dataset_from_directory as text_dataset_from_directory
from lamina.utils.image_dataset_utils import image_dataset_from_directory as image_dataset_from_directory
from lamina.utils.timeseries_dataset_utils import timeseries_dataset_from_array as timeseries_dataset_from_array
