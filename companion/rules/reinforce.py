"""Global REINFORCE: every unit applies REINFORCE with the same global reward."""
from __future__ import annotations

import torch


def check_reward(reward, values):
    """Refuse a reward that is not one number per run and sample, ``(R, B)``."""
    expected = tuple(values[0].shape[:2])
    if not isinstance(reward, torch.Tensor) or tuple(reward.shape) != expected:
        raise ValueError(f"reward must be a tensor of shape (runs, batch) = {expected}, got "
                         f"{type(reward).__name__} {tuple(getattr(reward, 'shape', ()))}")


def layer_log_prob_grads(net, values, weights=None) -> list:
    """Per layer, the batch mean of ``weights * grad_{W^l} log pi_l(H^{l-1}, H^l; W^l)``.

    ``weights`` (shape ``(R, B)``) scales each sample's gradient; ``None`` means 1.
    Returns ``[dW^1, db^1, dW^2, db^2, ...]`` in the order of ``Network.parameters``.
    """
    grads = []
    for layer, below, above in zip(net.layers, values[:-1], values[1:]):
        dz = layer.units.dlogp_dz(above, layer.preact(below))
        if weights is not None:
            dz = dz * weights.unsqueeze(-1)
        grads.extend(layer.weight_grads(below, dz))
    return grads


def reinforce_update(net, values, reward) -> list:
    """Eq. (3) of [MAP] (eq. (2) of [REVIEW]): ``R * grad_{W^l} log pi_l(H^{l-1}, H^l; W^l)``.

    ``values`` are the sampled layers ``[S, H^1, ..., A]``, ``reward`` has shape ``(R, B)``;
    the update is averaged over the batch. It follows the gradient of the expected reward
    in expectation (Theorem 1).
    """
    check_reward(reward, values)
    return layer_log_prob_grads(net, values, reward)
