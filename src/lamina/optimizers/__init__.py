"""Optimizers by Keras name, with Keras defaults and update rules, and learning-rate schedules.

Example:
    >>> model.compile(optimizer=lamina.optimizers.Adam(learning_rate=1e-3), loss="mse")
    >>> lamina.optimizers.SGD(learning_rate=lamina.optimizers.schedules.CosineDecay(0.1, 1000))
"""

from lamina.optimizers import schedules as schedules
from lamina.optimizers.adadelta import Adadelta as Adadelta
from lamina.optimizers.adafactor import Adafactor as Adafactor
from lamina.optimizers.adagrad import Adagrad as Adagrad
from lamina.optimizers.adam import Adam as Adam
from lamina.optimizers.adamax import Adamax as Adamax
from lamina.optimizers.adamw import AdamW as AdamW
from lamina.optimizers.ftrl import Ftrl as Ftrl
from lamina.optimizers.lamb import Lamb as Lamb
from lamina.optimizers.lion import Lion as Lion
from lamina.optimizers.loss_scale_optimizer import LossScaleOptimizer as LossScaleOptimizer
from lamina.optimizers.multi_optimizer import MultiOptimizer as MultiOptimizer
from lamina.optimizers.multi_optimizer import OptimizerMap as OptimizerMap
from lamina.optimizers.muon import Muon as Muon
from lamina.optimizers.nadam import Nadam as Nadam
from lamina.optimizers.optimizer import Optimizer as Optimizer
from lamina.optimizers.optimizer import deserialize as deserialize
from lamina.optimizers.optimizer import get as get
from lamina.optimizers.optimizer import serialize as serialize
from lamina.optimizers.rmsprop import RMSprop as RMSprop
from lamina.optimizers.schedule_free_adamw import ScheduleFreeAdamW as ScheduleFreeAdamW
from lamina.optimizers.sgd import SGD as SGD
