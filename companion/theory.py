"""Exact computations on small networks, used to check the theorems numerically."""
from __future__ import annotations

import itertools

import torch

from .checks import integer
from .network import DTYPE, Layer, Network, sample
from .rules import reinforce_update, reparam_update
from .units import Bernoulli, Normal, Softmax


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
    """Refuse a number of samples that is not a positive multiple of ``chunk``."""
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


def _check_support(support, support_probs):
    support = torch.as_tensor(support, dtype=DTYPE)
    support_probs = torch.as_tensor(support_probs, dtype=DTYPE)
    if support.dim() != 1 or support.shape != support_probs.shape or (support_probs < 0).any() \
            or not torch.isclose(support_probs.sum(), torch.tensor(1.0, dtype=DTYPE)):
        raise ValueError(f"support_probs must be a probability for each value of support, got "
                         f"{support_probs.tolist()} for {support.tolist()}")
    return support, support_probs


def noise_configurations(net, support, support_probs):
    """Every joint value ``z = (Z^1, ..., Z^{L-1})`` of the hidden layers' standard noise, each entry
    drawn independently from a finite ``support``: a list of ``(K_l, n_l)`` tensors (one per hidden
    layer) and their probabilities ``(K_l,)``."""
    support, support_probs = _check_support(support, support_probs)
    values, probs = [], []
    for layer in net.layers[:-1]:
        if not isinstance(layer.units, Normal):
            raise ValueError(f"every hidden layer must be Normal to be reparameterised, got {layer.units!r}")
        n = layer.weight.shape[2]
        if len(support) ** n > 2**16:
            raise ValueError(f"support**n must be at most 65536 configurations per layer, "
                             f"got {len(support)}**{n}")
        index = torch.tensor(list(itertools.product(range(len(support)), repeat=n)))
        values.append(support[index])
        probs.append(support_probs[index].prod(-1))
    return values, probs


def _reparam_joint(net, states, state_probs, support, support_probs):
    """Every ``(s, z, a)`` of a network whose hidden layers are ``H^l = f(z^l) + sigma_l Z^l`` with
    discrete ``Z``: the noise tensors ``(R, N, n_l)``, ``log Pr(s) Pr(z)`` ``(N,)``, and the state
    and action index of each configuration."""
    noise, probs = noise_configurations(net, support, support_probs)
    out = net.layers[-1]
    choices = [torch.arange(states.shape[0])] + [torch.arange(p.shape[0]) for p in probs] \
        + [torch.arange(configurations(out.units, out.weight.shape[2]).shape[0])]
    index = torch.cartesian_prod(*choices).reshape(-1, len(choices))
    log_p = torch.log(state_probs[index[:, 0]])
    for l, p in enumerate(probs):
        log_p = log_p + torch.log(p[index[:, l + 1]])
    z = [v[index[:, l + 1]].expand(net.runs, -1, -1) for l, v in enumerate(noise)]
    return z, log_p, index[:, 0], index[:, -1]


def _reparam_forward(weights, net, state, noise):
    """Hidden values ``H^l = f(H^{l-1} W^l + b^l) + sigma_l Z^l`` from (differentiable) ``weights``."""
    values = [state]
    for l, (layer, u) in enumerate(zip(net.layers[:-1], noise)):
        z = torch.baddbmm(weights[2 * l + 1].unsqueeze(1), values[-1], weights[2 * l])
        values.append(layer.units.from_noise(z, u))
    return values


def reparam_expected_update(net, states, state_probs, reward_table, support, support_probs) -> list:
    """``E[G grad_W log pi_L(h^{L-1}(Z; W, S), A)]`` (eq. 10 of [MAP], ``rules.reparam_update``) by
    enumerating every state, joint noise value and action; the noise is drawn from a finite ``support``.

    The update is linear in the reward, so one call of the rule with each configuration's reward
    scaled by ``N Pr(s, z, a)`` gives the probability-weighted sum as its batch mean.
    """
    z, log_p, s, a = _reparam_joint(net, states, state_probs, support, support_probs)
    state = states[s].expand(net.runs, -1, -1)
    values = _reparam_forward(net.parameters(), net, state, z)
    out = net.layers[-1]
    actions = configurations(out.units, out.weight.shape[2])[a].expand(net.runs, -1, -1)
    log_pi = out.units.log_prob(actions, out.preact(values[-1]))  # (R, N)
    weight = (log_p + log_pi).exp() * len(s)
    return reparam_update(net, values + [actions], reward_table[s, a] * weight)


def reparam_exact_gradient(net, states, state_probs, reward_table, support, support_probs) -> list:
    """The exact gradient of ``E[R] = sum_{s, z} Pr(s) Pr(z) sum_a pi_L(a | h(z; W, s)) r(s, a)``:
    autograd of the enumerated sum, another computation than any update rule's."""
    z, log_p, s, a = _reparam_joint(net, states, state_probs, support, support_probs)
    params = [p.detach().clone().requires_grad_(True) for p in net.parameters()]
    values = _reparam_forward(params, net, states[s].expand(net.runs, -1, -1), z)
    out = net.layers[-1]
    actions = configurations(out.units, out.weight.shape[2])[a].expand(net.runs, -1, -1)
    logits = torch.baddbmm(params[-1].unsqueeze(1), values[-1], params[-2])
    expected = (log_p.exp() * out.units.log_prob(actions, logits).exp() * reward_table[s, a]).sum()
    return list(torch.autograd.grad(expected, params))


def action_summed_gradient(net, task, samples: int, chunk: int, seed: int = 0):
    """A reference gradient of a single-step task's expected reward for a network of normal hidden units:
    per layer, the mean over ``samples`` draws of ``(S, Z)`` of ``grad_W sum_a pi_L(a | h(Z; W, S)) r(S, a)``
    (autograd, the noise held fixed, every action summed with its probability), and its Monte-Carlo
    error (the norm of the standard error of that mean, from the spread of the chunks' means).

    It differs from the rules it serves as reference for: no sampled action, no reward factor ``G``,
    the chain rule by autograd. Returns two lists (one entry per layer) of shapes ``(R, P_l)`` and ``(R,)``.
    """
    check_chunks(samples, chunk)
    if samples // chunk < 2:
        raise ValueError(f"samples must hold at least two chunks of {chunk} to estimate the error, "
                         f"got {samples!r}")
    out, sums, squares = net.layers[-1], None, None
    if not isinstance(out.units, Softmax):
        raise ValueError(f"the output layer must be a Softmax to sum over the actions, got {out.units!r}")
    gen = torch.Generator().manual_seed(seed)
    actions = configurations(out.units, out.weight.shape[2])
    for _ in range(samples // chunk):
        state = task.sample(net.runs, chunk, gen)
        noise = [torch.randn(net.runs, chunk, layer.weight.shape[2], generator=gen, dtype=DTYPE)
                 for layer in net.layers[:-1]]
        params = [p.detach().clone().requires_grad_(True) for p in net.parameters()]
        values = _reparam_forward(params, net, state, noise)
        probs = out.units.probs(torch.baddbmm(params[-1].unsqueeze(1), values[-1], params[-2]))
        rewards = torch.stack([task.reward(state, torch.full(state.shape[:2], k))
                               for k in range(len(actions))], -1)
        grads = torch.autograd.grad((probs * rewards).sum(-1).mean(1).sum(), params[::2])
        flat = [g.reshape(net.runs, -1) for g in grads]
        sums = flat if sums is None else [s + g for s, g in zip(sums, flat)]
        squares = [g**2 for g in flat] if squares is None else [q + g**2 for q, g in zip(squares, flat)]
    k = samples // chunk
    means = [s / k for s in sums]
    errors = [((q / k - m**2).clamp_min(0) * k / (k - 1) / k).sum(-1).sqrt() for q, m in zip(squares, means)]
    return means, errors
