"""A Keras 2.3-style image classifier fed by `ImageDataGenerator.flow_from_directory` with augmentation.

Run it with `lamina run tests/programs/keras2_image_directory.py DATA_DIR`, where DATA_DIR holds one folder of
PNG images per class. It trains a small convnet on flipped images with `fit_generator`, then loads fixed weights
and prints the batches, labels and predictions (as JSON) for the test to check against the files.
"""

import json
import sys

import numpy as np
from keras.layers import Conv2D, Dense, GlobalAveragePooling2D
from keras.models import Sequential
from keras.preprocessing.image import ImageDataGenerator

data_dir = sys.argv[1]
img_height, img_width = 6, 8

train_datagen = ImageDataGenerator(rescale=1.0 / 255, horizontal_flip=True)
test_datagen = ImageDataGenerator(rescale=1.0 / 255)
train_generator = train_datagen.flow_from_directory(
    data_dir, target_size=(img_height, img_width), batch_size=3, class_mode="categorical", seed=1
)
test_generator = test_datagen.flow_from_directory(
    data_dir, target_size=(img_height, img_width), batch_size=4, class_mode="categorical", shuffle=False
)

model = Sequential()
model.add(Conv2D(4, (3, 3), activation="relu", input_shape=(img_height, img_width, 3)))
model.add(GlobalAveragePooling2D())
model.add(Dense(2, activation="softmax"))
model.compile(loss="categorical_crossentropy", optimizer="rmsprop", metrics=["accuracy"])
history = model.fit_generator(
    train_generator,
    steps_per_epoch=2,
    epochs=2,
    validation_data=test_generator,
    validation_steps=len(test_generator),
    verbose=0,
)

# One augmented batch in file order: every image is the file's pixels / 255, mirrored or not.
flipped = train_datagen.flow_from_directory(
    data_dir, target_size=(img_height, img_width), batch_size=8, shuffle=False, seed=2
)
x_flipped, y_flipped = next(flipped)
x_first, y_first = test_generator[0]

rng = np.random.RandomState(5)
weights = [rng.randn(*w.shape).astype("float32") for w in model.get_weights()]
model.set_weights(weights)
predictions = model.predict_generator(test_generator, steps=len(test_generator))
print(
    json.dumps(
        {
            "class_indices": test_generator.class_indices,
            "classes": test_generator.classes.tolist(),
            "filenames": test_generator.filenames,
            "history": {key: [float(v) for v in values] for key, values in history.history.items()},
            "x_first": x_first.tolist(),
            "y_first": y_first.tolist(),
            "x_flipped": x_flipped.tolist(),
            "y_flipped": y_flipped.tolist(),
            "weights": [w.tolist() for w in weights],
            "predictions": predictions.tolist(),
        }
    )
)
