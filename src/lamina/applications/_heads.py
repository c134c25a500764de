"""The ends the ImageNet applications share: the optional global pooling, and the pooled dense classifier.

Example:
    >>> x = global_pool(features, "avg")  # (batch, h, w, c) -> (batch, c)
    >>> x = dense_classifier(features, include_top=True, pooling=None, classes=1000, classifier_activation="softmax")
"""

from __future__ import annotations


def global_pool(x, pooling, names=(None, None)):
    """`x` pooled over its sides by `pooling` ("avg" or "max"), or unchanged for any other value (None), as Keras.

    `names` are the (average, max) pooling layers' names; None lets the layer name itself.

    Example:
        >>> global_pool(Input(shape=(7, 7, 32)), "max", names=("avg_pool", "max_pool")).shape
        (None, 32)
    """
    from lamina import layers

    if pooling == "avg":
        return layers.GlobalAveragePooling2D(name=names[0])(x)
    if pooling == "max":
        return layers.GlobalMaxPooling2D(name=names[1])(x)
    return x


def dense_classifier(x, include_top, pooling, classes, classifier_activation, names=(None, None)):
    """With the top, global average pooling and the `predictions` Dense layer; without it, `global_pool`.

    Example:
        >>> dense_classifier(Input(shape=(7, 7, 32)), True, None, 10, "softmax").shape
        (None, 10)
    """
    from lamina import layers

    if not include_top:
        return global_pool(x, pooling, names)
    x = layers.GlobalAveragePooling2D(name=names[0])(x)
    return layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
