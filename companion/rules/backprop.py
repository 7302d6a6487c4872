"""Backprop baselines, by the chain rule written out: deterministic hidden units, the
reparameterisation trick, straight-through Bernoulli units, and the critic's value gradient."""
from __future__ import annotations

from .reinforce import check_reward


def chain_rule_grads(net, values, dz_out) -> list:
    """Every layer's weight gradients of an objective whose derivative by ``z^L`` is ``dz_out``.

    Each hidden value is read as ``H^l = f(z^l) + noise`` with the noise held fixed, so
    ``dH^l / dz^l = f'(z^l)``; the hidden ``values`` may be means (an ordinary network),
    samples of normal units (the reparameterisation trick) or samples of Bernoulli units
    (``f'`` the slope of the mean: the straight-through estimator). Batch mean, parameter order.
    """
    grads = [None] * (2 * len(net.layers))
    dz = dz_out
    for l in range(len(net.layers) - 1, -1, -1):
        layer = net.layers[l]
        grads[2 * l], grads[2 * l + 1] = layer.weight_grads(values[l], dz)
        if l:
            below = net.layers[l - 1]
            dz = layer.input_grad(dz) * below.units.mean_slope(below.preact(values[l - 1]))
    return grads


def backprop_update(net, values, reward) -> list:
    """``R * grad_W log Pr(A | S; W)`` for a network whose hidden units output their means.

    ``values[0]`` is the state and ``values[-1]`` the sampled action (from
    :func:`companion.network.sample_deterministic_hidden`); the gradient goes back through the
    deterministic hidden layers ("backprop" in [MAP] and [REVIEW]).
    """
    check_reward(reward, values)
    out = net.layers[-1]
    dz_out = reward.unsqueeze(-1) * out.units.dlogp_dz(values[-1], out.preact(values[-2]))
    return chain_rule_grads(net, values, dz_out)


def reparam_update(net, values, reward) -> list:
    """Eq. (10) of [MAP]: backprop with the reparameterisation trick in a network of normal units.

    Each hidden layer is ``H^l = f(W^l H^{l-1}) + sigma_l Z^l`` with the sampled noise held fixed:
    :func:`backprop_update` at the sampled (or settled) hidden values.
    """
    return backprop_update(net, values, reward)


def ste_update(net, values, reward) -> list:
    """Backprop through sampled Bernoulli units with the straight-through estimator (STE).

    Forward, each hidden unit keeps its sampled value in {0, 1}; backward, ``dh/dz`` is taken to
    be the slope of its mean, ``sigmoid'(z)`` (the "STE backprop" baseline of [WM]).
    """
    return backprop_update(net, values, reward)


def reparam_squared_error_grads(net, values, target) -> list:
    """``grad_W (A* - mu~_L)^2`` (batch mean) with the hidden noise read off ``values`` and held fixed.

    ``mu~_L`` is the mean of a single normal output unit, the right-hand side of eq. (67) of [MAP]
    (Theorem 3); ``target`` has shape ``(R, B)``.
    """
    check_reward(target, values)
    out = net.layers[-1]
    z = out.preact(values[-2])
    dz_out = -2 * (target.unsqueeze(-1) - out.units.mean(z)) * out.units.mean_slope(z)
    return chain_rule_grads(net, values, dz_out)


def output_mean_grads(net, state) -> list:
    """``grad_W mu_L(S)`` (batch mean) of an ordinary network whose single output unit's mean is the value.

    The critic's trace increment in TD(lambda) with a backprop network (the baselines of [MAP]).
    """
    values = [state]
    for layer in net.layers[:-1]:
        values.append(layer.units.mean(layer.preact(values[-1])))
    out = net.layers[-1]
    z = out.preact(values[-1])
    return chain_rule_grads(net, values + [None], out.units.mean_slope(z))
