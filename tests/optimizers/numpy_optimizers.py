"""Keras's optimizer update rules written out in NumPy (float64), for the optimizer tests.

Each rule's `step(index, g, w, state)` returns the new weight; `state["t"]` counts
the updates done before this one, and `rule.lr` is the learning rate of the step
(set by `numpy_trajectory`, which also applies clipping, weight decay, Keras 2's
`decay` and learning-rate schedules).
"""

from __future__ import annotations

import numpy as np


def np_clip(grads, clipnorm=None, clipvalue=None, global_clipnorm=None):
    if clipvalue is not None:
        return [np.clip(g, -clipvalue, clipvalue) for g in grads]
    if clipnorm is not None:
        return [g * min(1.0, clipnorm / np.sqrt(np.sum(g**2))) for g in grads]
    if global_clipnorm is not None:
        norm = np.sqrt(sum(np.sum(g**2) for g in grads))
        return [g * min(1.0, global_clipnorm / norm) for g in grads]
    return grads


class NumpySGD:
    def __init__(self, learning_rate=0.01, momentum=0.0, nesterov=False):
        self.lr, self.momentum, self.nesterov = learning_rate, momentum, nesterov

    def step(self, index, g, w, state):
        if not self.momentum:
            return w - self.lr * g
        m = state.setdefault(index, np.zeros_like(w))
        m = self.momentum * m - self.lr * g
        state[index] = m
        return w + (self.momentum * m - self.lr * g if self.nesterov else m)


class NumpyRMSprop:
    def __init__(self, learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False):
        self.lr, self.rho, self.momentum, self.epsilon, self.centered = learning_rate, rho, momentum, epsilon, centered

    def step(self, index, g, w, state):
        v, avg, mom = state.get(index, (np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)))
        v = self.rho * v + (1 - self.rho) * g**2
        denominator = v + self.epsilon  # epsilon inside the square root
        if self.centered:
            avg = self.rho * avg + (1 - self.rho) * g
            denominator = denominator - avg**2
        increment = self.lr * g / np.sqrt(denominator)
        if self.momentum:
            mom = self.momentum * mom + increment
            increment = mom
        state[index] = (v, avg, mom)
        return w - increment


class NumpyAdam:
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False):
        self.lr, self.b1, self.b2, self.epsilon, self.amsgrad = learning_rate, beta_1, beta_2, epsilon, amsgrad

    def step(self, index, g, w, state):
        t = state["t"] + 1
        m, v, v_hat = state.get(index, (np.zeros_like(w), np.zeros_like(w), np.zeros_like(w)))
        m = self.b1 * m + (1 - self.b1) * g
        v = self.b2 * v + (1 - self.b2) * g**2
        v_hat = np.maximum(v_hat, v)
        # Keras folds the bias correction into the step size and adds epsilon outside the root.
        lr_t = self.lr * np.sqrt(1 - self.b2**t) / (1 - self.b1**t)
        state[index] = (m, v, v_hat)
        return w - lr_t * m / (np.sqrt(v_hat if self.amsgrad else v) + self.epsilon)


class NumpyAdamW(NumpyAdam):
    """Adam; the weight decay (default 0.004) is applied by `numpy_trajectory`."""


class NumpyAdagrad:
    def __init__(self, learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7):
        self.lr, self.initial, self.epsilon = learning_rate, initial_accumulator_value, epsilon

    def step(self, index, g, w, state):
        a = state.get(index, np.full_like(w, self.initial)) + g**2
        state[index] = a
        return w - self.lr * g / np.sqrt(a + self.epsilon)


class NumpyAdadelta:
    def __init__(self, learning_rate=0.001, rho=0.95, epsilon=1e-7):
        self.lr, self.rho, self.epsilon = learning_rate, rho, epsilon

    def step(self, index, g, w, state):
        mean_g2, mean_d2 = state.get(index, (np.zeros_like(w), np.zeros_like(w)))
        mean_g2 = self.rho * mean_g2 + (1 - self.rho) * g**2
        delta = -np.sqrt(mean_d2 + self.epsilon) / np.sqrt(mean_g2 + self.epsilon) * g
        mean_d2 = self.rho * mean_d2 + (1 - self.rho) * delta**2
        state[index] = (mean_g2, mean_d2)
        return w + self.lr * delta


class NumpyAdamax:
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.lr, self.b1, self.b2, self.epsilon = learning_rate, beta_1, beta_2, epsilon

    def step(self, index, g, w, state):
        t = state["t"] + 1
        m, u = state.get(index, (np.zeros_like(w), np.zeros_like(w)))
        m = self.b1 * m + (1 - self.b1) * g
        u = np.maximum(self.b2 * u, np.abs(g))
        state[index] = (m, u)
        return w - self.lr * m / ((1 - self.b1**t) * (u + self.epsilon))


class NumpyNadam:
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7):
        self.lr, self.b1, self.b2, self.epsilon = learning_rate, beta_1, beta_2, epsilon

    def _u(self, t):
        return self.b1 * (1 - 0.5 * 0.96**t)  # Dozat's momentum schedule, as Keras 3 writes it

    def step(self, index, g, w, state):
        t = state["t"] + 1
        product = np.prod([self._u(i) for i in range(1, t + 1)])
        product_next = product * self._u(t + 1)
        m, v = state.get(index, (np.zeros_like(w), np.zeros_like(w)))
        m = self.b1 * m + (1 - self.b1) * g
        v = self.b2 * v + (1 - self.b2) * g**2
        state[index] = (m, v)
        m_hat = self._u(t + 1) * m / (1 - product_next) + (1 - self._u(t)) * g / (1 - product)
        v_hat = v / (1 - self.b2**t)
        return w - self.lr * m_hat / (np.sqrt(v_hat) + self.epsilon)


class NumpyFtrl:
    def __init__(
        self,
        learning_rate=0.001,
        learning_rate_power=-0.5,
        initial_accumulator_value=0.1,
        l1_regularization_strength=0.0,
        l2_regularization_strength=0.0,
        l2_shrinkage_regularization_strength=0.0,
        beta=0.0,
    ):
        self.lr, self.power, self.initial = learning_rate, -learning_rate_power, initial_accumulator_value
        self.l1, self.l2, self.shrinkage, self.beta = (
            l1_regularization_strength,
            l2_regularization_strength,
            l2_shrinkage_regularization_strength,
            beta,
        )

    def step(self, index, g, w, state):
        n, z = state.get(index, (np.full_like(w, self.initial), np.zeros_like(w)))
        n_new = n + g**2
        z = z + g + 2 * self.shrinkage * w - (n_new**self.power - n**self.power) / self.lr * w
        state[index] = (n_new, z)
        quadratic = n_new**self.power / self.lr + 2 * (self.l2 + self.beta / (2 * self.lr))
        return (np.clip(z, -self.l1, self.l1) - z) / quadratic


class NumpyLion:
    def __init__(self, learning_rate=0.001, beta_1=0.9, beta_2=0.99):
        self.lr, self.b1, self.b2 = learning_rate, beta_1, beta_2

    def step(self, index, g, w, state):
        m = state.get(index, np.zeros_like(w))
        w = w - self.lr * np.sign(self.b1 * m + (1 - self.b1) * g)
        state[index] = self.b2 * m + (1 - self.b2) * g
        return w


NUMPY_RULES = {
    "SGD": NumpySGD,
    "RMSprop": NumpyRMSprop,
    "Adam": NumpyAdam,
    "AdamW": NumpyAdamW,
    "Adagrad": NumpyAdagrad,
    "Adadelta": NumpyAdadelta,
    "Adamax": NumpyAdamax,
    "Nadam": NumpyNadam,
    "Ftrl": NumpyFtrl,
    "Lion": NumpyLion,
}
CLIP_KEYS = ("clipnorm", "clipvalue", "global_clipnorm")
BASE_KEYS = (*CLIP_KEYS, "weight_decay", "decay")


def numpy_trajectory(name, config, initial, grad_sequence, schedule=None):
    """The variables after each step, by the rules above.

    `schedule(t)` (a NumPy function of the step count), if given, replaces the learning rate.
    """
    clip = {k: config[k] for k in CLIP_KEYS if k in config}
    weight_decay = config.get("weight_decay", 0.004 if name == "AdamW" else None)
    decay = config.get("decay", 0.0)
    rule = NUMPY_RULES[name](**{k: v for k, v in config.items() if k not in BASE_KEYS})
    base_lr = rule.lr
    weights = [w.astype(np.float64) for w in initial]
    state = {"t": 0}
    trajectory = []
    for grads in grad_sequence:
        t = state["t"]
        rule.lr = schedule(t) if schedule is not None else base_lr / (1.0 + decay * t)
        grads = np_clip([g.astype(np.float64) for g in grads], **clip)
        if weight_decay:
            weights = [w - w * weight_decay * rule.lr for w in weights]
        weights = [rule.step(i, g, w, state) for i, (g, w) in enumerate(zip(grads, weights))]
        state["t"] += 1
        trajectory.append(weights)
    return trajectory
