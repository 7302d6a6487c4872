"""MAP Propagation: settle the hidden units to their most probable values, then apply REINFORCE."""
from __future__ import annotations

from ..checks import integer
from .reinforce import check_reward, layer_log_prob_grads


def check_settleable(net):
    """Refuse a network whose hidden units cannot settle (only normal units have ``dlogp_dh``)."""
    for l, layer in enumerate(net.layers[:-1], start=1):
        if not hasattr(layer.units, "dlogp_dh"):
            raise ValueError(f"hidden layer {l} must have continuous (Normal) units to settle, got {layer.units!r}")


def energy(net, values):
    """``-sum_l log pi_l(H^{l-1}, H^l)``, shape ``(R, B)``.

    This is the energy ``E(h; s, a) = -log Pr(H = h | S = s, A = a)`` of [MAP] (Sec. 2) up to
    the constant ``log Pr(A = a | S = s)``, which does not depend on the hidden values.
    """
    return -sum(layer.units.log_prob(above, layer.preact(below))
                for layer, below, above in zip(net.layers, values[:-1], values[1:]))


def energy_gradient(net, values) -> list:
    """Eq. (8) of [MAP]: ``d E / d H^l = -(grad log pi_l(H^{l-1}, H^l) + grad log pi_{l+1}(H^l, H^{l+1}))``.

    One tensor per hidden layer ``l = 1, ..., L-1``; each needs only layers ``l-1``, ``l`` and ``l+1``.
    """
    grads = []
    for l in range(1, len(net.layers)):
        own, above = net.layers[l - 1], net.layers[l]
        z_own, z_above = own.preact(values[l - 1]), above.preact(values[l])
        from_below = own.units.dlogp_dh(values[l], z_own)
        from_above = above.input_grad(above.units.dlogp_dz(values[l + 1], z_above))
        grads.append(-(from_below + from_above))
    return grads


def settle(net, values, settle_steps: int) -> list:
    """Eq. (8) of [MAP], ``settle_steps`` times: every hidden layer at once moves down the energy.

    Layer ``l`` takes the step ``0.5 * sigma_l^2`` (the paper's ``alpha_h``). The state and the
    action stay fixed; returns new values ``[S, H~^1, ..., H~^{L-1}, A]``.
    """
    settle_steps = integer("settle_steps", settle_steps, 0)
    if not settle_steps:
        return list(values)
    check_settleable(net)
    values = list(values)
    rates = [0.5 * layer.units.var for layer in net.layers[:-1]]
    for _ in range(settle_steps):
        grads = energy_gradient(net, values)
        values[1:-1] = [h - rate * g for h, rate, g in zip(values[1:-1], rates, grads)]
    return values


def map_update(net, values, reward, settle_steps: int) -> list:
    """Eq. (9) of [MAP]: REINFORCE at the settled values, ``R * grad log pi_l(H~^{l-1}, H~^l)``.

    With ``settle_steps = 0`` this is exactly global REINFORCE (eq. 3).
    """
    check_reward(reward, values)
    return layer_log_prob_grads(net, settle(net, values, settle_steps), reward)


def check_critic(net):
    """Refuse a critic whose output layer is not one normal unit."""
    out = net.layers[-1]
    if out.weight.shape[2] != 1 or not hasattr(out.units, "var"):
        raise ValueError(f"the critic's output layer must be one Normal unit, got {out.weight.shape[2]} {out.units!r}")


def output_mean(net, values):
    """``mu_L = g_L(H^{L-1})``, the mean of a critic's single normal output unit, shape ``(R, B)``."""
    check_critic(net)
    out = net.layers[-1]
    return out.units.mean(out.preact(values[-2]))[..., 0]


def critic_scale(net, values, target):
    """Eq. (66) of [MAP]: the factor ``(A* - mu_L) / (A - mu_L)`` that replaces the reward.

    ``values`` should already be settled; ``mu_L`` is the output mean given ``H^{L-1}``.
    """
    mu = output_mean(net, values)
    return (target - mu) / (values[-1][..., 0] - mu)


def critic_update(net, values, target, settle_steps: int) -> list:
    """Eq. (66) of [MAP]: settle, then REINFORCE with ``(A* - mu_L) / (A - mu_L)`` as the reward.

    After settling it is proportional to minus the gradient of the squared error (Theorem 3).
    """
    check_reward(target, values)
    settled = settle(net, values, settle_steps)
    return layer_log_prob_grads(net, settled, critic_scale(net, settled, target))
