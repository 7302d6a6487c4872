"""Weight Maximization: every hidden unit is rewarded by the growth of its outgoing weights ([WM], [REVIEW])."""
from __future__ import annotations

import torch

from .reinforce import check_reward


def unit_rewards(below, weight_above, signal_above, alpha: float | None = None):
    """Eq. (5) of [REVIEW]: ``R_i = 2 sum_j W_ij dW_ij``, the first-order change of ``|W_i,:|^2``.

    ``dW_ij = h_i g_j`` is the per-sample update of the next layer before the step size
    (``g_j = R_j d log pi_j / d z_j``), so ``R_i = 2 h_i (g W^T)_i``. ``below`` are the unit
    values ``h`` (``(R, B, n)``), ``weight_above`` the next layer's weights (``(R, n, m)``),
    ``signal_above`` its ``g`` (``(R, B, m)``). With a step size ``alpha`` the reward is the
    exact change divided by ``alpha`` (eq. 4), ``2 W_i . dW_i + alpha |dW_i|^2``.
    """
    first_order = 2 * below * torch.bmm(signal_above, weight_above.transpose(1, 2))
    if alpha is None:
        return first_order
    return first_order + alpha * below**2 * (signal_above**2).sum(-1, keepdim=True)


def weight_max_signals(net, values, reward, alpha: float | None = None) -> list:
    """``g^l = R^l * d log pi_l / d z^l`` for every layer, from the top down (eqs. 5 and 6 of [REVIEW]).

    The output layer's units receive the external ``reward``; each hidden unit receives the
    reward of :func:`unit_rewards` computed from the layer above (first order, or the exact
    norm change for a step size ``alpha``).
    """
    check_reward(reward, values)
    signals = [None] * len(net.layers)
    unit_reward = reward.unsqueeze(-1)
    for l in range(len(net.layers) - 1, -1, -1):
        layer = net.layers[l]
        signals[l] = unit_reward * layer.units.dlogp_dz(values[l + 1], layer.preact(values[l]))
        if l:
            unit_reward = unit_rewards(values[l], layer.weight, signals[l], alpha)
    return signals


def weight_max_update(net, values, reward, alpha: float | None = None) -> list:
    """Eq. (6) of [REVIEW]: ``dW_:,i = R_i grad log pi_i`` in every layer, batch mean, parameter order."""
    grads = []
    for layer, below, signal in zip(net.layers, values[:-1], weight_max_signals(net, values, reward, alpha)):
        grads.extend(layer.weight_grads(below, signal))
    return grads
