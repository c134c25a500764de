"""Keras's small datasets, downloaded once into the Keras cache (`~/.keras/datasets`) by `get_file`.

Example:
    >>> (x_train, y_train), (x_test, y_test) = lamina.datasets.mnist.load_data()  # doctest: +SKIP
"""

from lamina.datasets import boston_housing as boston_housing
from lamina.datasets import cifar10 as cifar10
from lamina.datasets import cifar100 as cifar100
from lamina.datasets import fashion_mnist as fashion_mnist
from lamina.datasets import imdb as imdb
from lamina.datasets import mnist as mnist
from lamina.datasets import reuters as reuters
