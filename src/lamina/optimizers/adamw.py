"""AdamW: Adam with decoupled weight decay (Keras's default of 0.004)."""

from __future__ import annotations

from lamina.optimizers.adam import Adam


class AdamW(Adam):
    """Adam, after shrinking each variable by `variable * weight_decay * lr` every step.

    Exclude variables (biases, norms) with `exclude_from_weight_decay(var_names=[...])`.

    Example:
        >>> AdamW(learning_rate=1e-3, weight_decay=0.01)
    """

    def __init__(
        self,
        learning_rate=0.001,
        weight_decay=0.004,
        beta_1=0.9,
        beta_2=0.999,
        epsilon=1e-7,
        amsgrad=False,
        name="AdamW",
        **kwargs,
    ):
        if weight_decay is None:
            raise ValueError("AdamW: weight_decay must be a float, got None.")
        super().__init__(
            learning_rate=learning_rate,
            beta_1=beta_1,
            beta_2=beta_2,
            epsilon=epsilon,
            amsgrad=amsgrad,
            name=name,
            weight_decay=weight_decay,
            **kwargs,
        )
