"""Autograd baselines: backprop through deterministic hidden units, and with the reparameterisation trick."""
from __future__ import annotations

import torch

from .reinforce import check_reward


def _output_preact(net, params, state, hidden_noise):
    """``z^L`` as a function of the parameters when every hidden layer is ``H^l = f(z^l) + noise^l``."""
    h = state
    for l, layer in enumerate(net.layers):
        z = torch.baddbmm(params[2 * l + 1].unsqueeze(1), h, params[2 * l])
        h = layer.units.mean(z) + hidden_noise[l] if l < len(net.layers) - 1 else z
    return h


def _output_log_prob_grads(net, values, reward, hidden_noise) -> list:
    """Batch mean of ``R * grad_W log pi_L(A | H^{L-1}(W))`` where ``H^l = f(z^l) + noise^l``."""
    check_reward(reward, values)
    params = [p.detach().requires_grad_(True) for p in net.parameters()]
    z = _output_preact(net, params, values[0], hidden_noise)
    objective = (reward * net.layers[-1].units.log_prob(values[-1], z)).mean(1).sum()
    return list(torch.autograd.grad(objective, params))


def hidden_noise(net, values) -> list:
    """The noise ``H^l - f(W^l H^{l-1})`` of every hidden layer read off ``values``, then 0 for the output."""
    noise = [
        (above - layer.units.mean(layer.preact(below))).detach()
        for layer, below, above in zip(net.layers[:-1], values[:-2], values[1:-1])
    ]
    return noise + [0.0]


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
    return _output_log_prob_grads(net, values, reward, hidden_noise(net, values))


def reparam_squared_error_grads(net, values, target) -> list:
    """``grad_W (A* - mu~_L)^2`` (batch mean) with the hidden noise read off ``values`` and held fixed.

    ``mu~_L`` is the mean of a single normal output unit, the right-hand side of eq. (67) of [MAP]
    (Theorem 3); ``target`` has shape ``(R, B)``.
    """
    check_reward(target, values)
    params = [p.detach().requires_grad_(True) for p in net.parameters()]
    z = _output_preact(net, params, values[0], hidden_noise(net, values))
    error = ((target - net.layers[-1].units.mean(z)[..., 0]) ** 2).mean(1).sum()
    return list(torch.autograd.grad(error, params))


def output_mean_grads(net, state) -> list:
    """``grad_W mu_L(S)`` (batch mean) of an ordinary network whose single output unit's mean is the value.

    The critic's trace increment in TD(lambda) with a backprop network (the baselines of [MAP]).
    """
    params = [p.detach().requires_grad_(True) for p in net.parameters()]
    z = _output_preact(net, params, state, [0.0] * len(net.layers))
    return list(torch.autograd.grad(net.layers[-1].units.mean(z)[..., 0].mean(1).sum(), params))


def ste_update(net, values, reward) -> list:
    """Backprop through sampled Bernoulli units with the straight-through estimator (STE).

    Forward, each hidden unit keeps its sampled value ``h`` in {0, 1}; backward, ``dh/dz`` is
    taken to be the slope of its mean, ``sigmoid'(z)`` (the "STE backprop" baseline of [WM]).
    Written ``h = sigmoid(z) + (h - sigmoid(z))`` with the bracket held fixed, this is
    :func:`reparam_update` applied to Bernoulli values.
    """
    return _output_log_prob_grads(net, values, reward, hidden_noise(net, values))
