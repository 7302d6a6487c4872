"""Exact computations on small networks, used to check the theorems numerically."""
from __future__ import annotations

import itertools

import torch

from .checks import integer
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


def check_chunks(samples: int, chunk: int):
    chunk = integer("chunk", chunk)
    if integer("samples", samples) < chunk or samples % chunk:
        raise ValueError(f"samples must be a positive multiple of chunk={chunk}, got {samples!r}")


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


def joint_configurations(net, states, state_probs):
    """Every joint configuration ``(s, h^1, ..., a)`` with its probability under each run's weights.

    Returns ``values`` (a list ``[S, H^1, ..., A]`` of tensors ``(R, N, n_l)``, the same
    configurations for every run), ``probs`` (``(R, N)``, summing to 1 per run) and the index of
    each configuration's state and output configuration (``(N,)`` each).
    """
    choices = [torch.arange(states.shape[0])] + [
        torch.arange(configurations(layer.units, layer.weight.shape[2]).shape[0]) for layer in net.layers]
    index = torch.cartesian_prod(*choices).reshape(-1, len(choices))
    runs = net.runs
    values = [states[index[:, 0]].expand(runs, -1, -1)]
    for l, layer in enumerate(net.layers):
        values.append(configurations(layer.units, layer.weight.shape[2])[index[:, l + 1]].expand(runs, -1, -1))
    log_p = torch.log(state_probs[index[:, 0]]).expand(runs, -1)
    for layer, below, above in zip(net.layers, values[:-1], values[1:]):
        log_p = log_p + layer.units.log_prob(above, layer.preact(below))
    return values, log_p.exp(), index[:, 0], index[:, -1]


def expected_update(net, rule, states, state_probs, reward_table) -> list:
    """``E[update]`` of any rule, by enumerating every joint configuration ``(s, h, a)``.

    Each configuration becomes a run of its own (a copy of the network with a batch of one),
    so the rule gives its update for that configuration; the updates are then averaged with
    the configurations' probabilities.
    """
    values, probs, s, a = joint_configurations(net, states, state_probs)
    runs, n = probs.shape
    single = [v.reshape(runs * n, 1, -1) for v in values]
    reward = reward_table[s, a].repeat(runs).reshape(runs * n, 1)
    updates = rule(replicate(net, n), single, reward)
    weights = probs.reshape(runs, n)
    return [torch.einsum("rn,rn...->r...", weights, u.reshape(runs, n, *u.shape[1:])) for u in updates]


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
    check_chunks(samples, chunk)
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


def replicate(net, copies: int):
    """A network whose runs are ``copies`` identical copies of each run of ``net`` (run-major)."""
    return Network([Layer(layer.weight.repeat_interleave(copies, 0), layer.bias.repeat_interleave(copies, 0),
                          layer.units) for layer in net.layers])


def update_moments(net, task, act, rule, samples: int, chunk: int, seed: int = 0, batch: int = 16):
    """Per layer, the mean ``E g`` and mean squared norm ``E |g|^2`` of single-sample weight updates ``g``.

    ``act`` samples the network (``companion.network.sample`` or ``sample_deterministic_hidden``),
    ``rule`` turns the sample and its reward into an update. Each run is copied
    ``chunk // batch`` times and every copy draws its own batch of ``batch`` samples; since a
    batch mean ``m`` of independent samples has ``Var m = Var g / batch``, the spread of the
    copies' means gives the single-sample variance. Returns two lists (one entry per layer)
    of shapes ``(R, P_l)`` and ``(R,)``.
    """
    check_chunks(samples, chunk)
    if integer("batch", batch) < 2 or chunk % batch:
        raise ValueError(f"chunk must be a multiple of batch={batch} (at least 2), got {chunk!r}")
    copies = chunk // batch
    copied = replicate(net, copies)
    gen = torch.Generator().manual_seed(seed)
    totals = [0.0] * len(net.layers)
    squares = [0.0] * len(net.layers)
    for _ in range(samples // chunk):
        state = task.sample(copied.runs, batch, gen)
        values = act(copied, state, gen)
        reward = task.reward(state, copied.layers[-1].units.action(values[-1]))
        for l, update in enumerate(rule(copied, values, reward)[::2]):
            means = update.reshape(net.runs, copies, -1)
            totals[l] = totals[l] + means.sum(1)
            squares[l] = squares[l] + (means**2).sum((1, 2))
    n_means = samples // batch
    means = [t / n_means for t in totals]
    variances = [(sq - n_means * (m**2).sum(-1)) / (n_means - 1) * batch for sq, m in zip(squares, means)]
    return means, [v + (m**2).sum(-1) for v, m in zip(variances, means)]


def signal_to_noise(mean, second_moment):
    """``|E g|^2 / (E |g|^2 - |E g|^2)``: squared length of the signal over the total noise variance."""
    signal = (mean**2).sum(-1)
    return signal / (second_moment - signal)
