"""Autograd baselines: backprop through deterministic hidden units, and with the reparameterisation trick."""
from __future__ import annotations

import torch

from .reinforce import check_reward


def _output_log_prob_grads(net, values, reward, hidden_noise) -> list:
    """Batch mean of ``R * grad_W log pi_L(A | H^{L-1}(W))`` where ``H^l = f(z^l) + noise^l``."""
    check_reward(reward, values)
    params = [p.detach().requires_grad_(True) for p in net.parameters()]
    h = values[0]
    for l, layer in enumerate(net.layers):
        z = torch.baddbmm(params[2 * l + 1].unsqueeze(1), h, params[2 * l])
        h = layer.units.mean(z) + hidden_noise[l] if l < len(net.layers) - 1 else z
    objective = (reward * net.layers[-1].units.log_prob(values[-1], h)).mean(1).sum()
    return list(torch.autograd.grad(objective, params))


def backprop_update(net, values, reward) -> list:
    """``R * grad_W log Pr(A | S; W)`` for a network whose hidden units output their means.

    ``values[0]`` is the state and ``values[-1]`` the sampled action (from
    :func:`companion.network.sample_deterministic_hidden`); every layer's gradient is found by
    autograd through the deterministic hidden layers ("backprop" in [MAP] and [REVIEW]),
    averaged over the batch, in the order of ``Network.parameters``.
    """
    return _output_log_prob_grads(net, values, reward, [0.0] * len(net.layers))


def reparam_update(net, values, reward) -> list:
    """Eq. (10) of [MAP]: backprop with the reparameterisation trick in a network of normal units.

    Each hidden layer is written ``H^l = f(W^l H^{l-1}) + sigma_l Z^l``; the noise ``sigma_l Z^l``
    is read off the sampled ``values`` and held fixed while autograd differentiates
    ``R log pi_L(A | H^{L-1})`` with respect to every layer's weights.
    """
    noise = [
        (above - layer.units.mean(layer.preact(below))).detach()
        for layer, below, above in zip(net.layers[:-1], values[:-2], values[1:-1])
    ]
    return _output_log_prob_grads(net, values, reward, noise + [0.0])
