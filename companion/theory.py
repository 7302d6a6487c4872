"""Exact computations on small networks, used to check the theorems numerically."""
from __future__ import annotations

import itertools

import torch

from .network import DTYPE, Layer, Network, sample
from .rules import reinforce_update
from .units import Bernoulli, Softmax


def configurations(units, n: int):
    """Every value a layer of ``n`` discrete units can take, shape ``(K, n)``."""
    if isinstance(units, Bernoulli):
        if n > 16:
            raise ValueError(f"n must be at most 16 to enumerate 2**n Bernoulli configurations, got {n}")
        return torch.tensor(list(itertools.product((0.0, 1.0), repeat=n)), dtype=DTYPE)
    if isinstance(units, Softmax):
        return torch.eye(n, dtype=DTYPE)
    raise ValueError(f"units must be Bernoulli or Softmax to be enumerated, got {units!r}")


def expected_reward(weights, net, states, state_probs, reward_table):
    """``E[R] = sum_s d(s) sum_h Pr(h, a | s) r(s, a)`` by enumerating every configuration.

    ``weights`` is ``[W^1, b^1, ...]`` (differentiable), ``states`` ``(S, n_in)``,
    ``state_probs`` ``(S,)``, ``reward_table`` ``(S, K_out)`` over the output configurations.
    Returns shape ``(R,)``. Layer ``l``'s transition matrix ``Pr(H^l = y | H^{l-1} = x)``
    is built for every pair of configurations and the chain is multiplied through.
    """
    runs = weights[0].shape[0]
    below = states.expand(runs, *states.shape)
    prob = torch.ones(runs, states.shape[0], 1, dtype=DTYPE)  # Pr(s, H^{l-1} = x | s), per s
    for l, layer in enumerate(net.layers):
        above = configurations(layer.units, layer.weight.shape[2])
        z = torch.baddbmm(weights[2 * l + 1].unsqueeze(1), below, weights[2 * l])  # (R, X, n)
        logp = layer.units.log_prob(above.unsqueeze(0).unsqueeze(0), z.unsqueeze(2))  # (R, X, Y)
        prob = prob @ logp.exp() if l else logp.exp()
        below = above.expand(runs, *above.shape)
    return (state_probs * (prob * reward_table).sum(-1)).sum(-1)


def exact_gradient(net, states, state_probs, reward_table) -> list:
    """The exact gradient of the expected reward with respect to every parameter (autograd of the sum)."""
    params = [p.detach().clone().requires_grad_(True) for p in net.parameters()]
    total = expected_reward(params, net, states, state_probs, reward_table).sum()
    return list(torch.autograd.grad(total, params))


def monte_carlo_reinforce(net, states, state_probs, reward_table, samples: int, chunk: int, seed: int = 0):
    """Running Monte-Carlo means of the global REINFORCE estimate (eq. 3 of [MAP]).

    Draws ``samples`` (state, hidden, action) triples per run in chunks of ``chunk`` and returns
    ``(counts, means)``: after ``counts[i]`` samples, ``means[i]`` is the list of mean updates.
    """
    if chunk < 1 or samples < chunk or samples % chunk:
        raise ValueError(f"samples must be a positive multiple of chunk={chunk}, got {samples!r}")
    gen = torch.Generator().manual_seed(seed)
    sums, counts, means = None, [], []
    for i in range(samples // chunk):
        idx = torch.multinomial(state_probs, net.runs * chunk, replacement=True, generator=gen)
        idx = idx.reshape(net.runs, chunk)
        values = sample(net, states[idx], gen)
        reward = reward_table[idx, net.layers[-1].units.action(values[-1]).long()]
        update = reinforce_update(net, values, reward)
        sums = update if sums is None else [s + u for s, u in zip(sums, update)]
        counts.append((i + 1) * chunk)
        means.append([s / (i + 1) for s in sums])
    return counts, means


def per_sample_updates(net, values, reward, rule):
    """Every sample's own update of the first layer's weights, shape ``(R, B, n_in * n_out)``.

    Each (run, sample) pair becomes a run of its own, so ``rule`` (any update in
    ``companion.rules``) is applied unchanged with a batch of one.
    """
    runs, batch = reward.shape
    layers = [
        Layer(layer.weight.repeat_interleave(batch, 0), layer.bias.repeat_interleave(batch, 0), layer.units)
        for layer in net.layers
    ]
    single = [v.reshape(runs * batch, 1, -1) for v in values]
    grads = rule(Network(layers), single, reward.reshape(runs * batch, 1))
    return grads[0].reshape(runs, batch, -1)


def first_layer_moments(net, task, act, rule, samples: int, chunk: int, seed: int = 0):
    """Mean ``E g`` and mean squared norm ``E |g|^2`` of single-sample first-layer updates ``g``.

    ``act`` samples the network (``companion.network.sample`` or ``sample_deterministic_hidden``),
    ``rule`` turns the sample and its reward into an update. Returns shapes ``(R, P)`` and ``(R,)``.
    """
    if chunk < 1 or samples < chunk or samples % chunk:
        raise ValueError(f"samples must be a positive multiple of chunk={chunk}, got {samples!r}")
    gen = torch.Generator().manual_seed(seed)
    total, total_sq = 0.0, 0.0
    for _ in range(samples // chunk):
        state = task.sample(net.runs, chunk, gen)
        values = act(net, state, gen)
        reward = task.reward(state, net.layers[-1].units.action(values[-1]))
        g = per_sample_updates(net, values, reward, rule)
        total = total + g.sum(1)
        total_sq = total_sq + (g**2).sum((1, 2))
    return total / samples, total_sq / samples


def signal_to_noise(mean, second_moment):
    """``|E g|^2 / (E |g|^2 - |E g|^2)``: squared length of the signal over the total noise variance."""
    signal = (mean**2).sum(-1)
    return signal / (second_moment - signal)
