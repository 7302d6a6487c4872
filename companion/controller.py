"""The faulty controller: the two-button intuition behind MAP Propagation ([REVIEW], [MAP]).

An agent presses one of two buttons; the controller transmits the other one with probability
``eps``; the reward depends only on the transmitted button. The pressed button plays the
part of a hidden unit, the transmitted one the part of the network's action.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .checks import integer, real
from .network import DTYPE, init_network
from .rules import reinforce_update
from .units import Softmax

MODES = ("pressed", "map", "posterior")


def check_eps(eps):
    """Refuse a flip probability outside ``[0, 0.5)``; returns it as a float."""
    return real("eps (flip probability)", eps, 0.0, 0.5, open_high=True)


def check_mode(mode):
    """Refuse a mode not in ``MODES``."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")


def learning_button(mode, pressed, probs, sent, eps):
    """What the learner credits: the pressed button, its MAP estimate or its posterior.

    ``grad log pi(b) = onehot(b) - pi`` is linear in the one-hot, so the posterior mean of the
    gradient is the gradient taken at the posterior probabilities themselves.
    """
    if mode == "pressed":
        return pressed
    if mode == "map":
        return most_probable_pressed(probs, sent, eps)
    return posterior_pressed(probs, sent, eps)


def transmit(pressed, eps, generator=None):
    """The controller: each one-hot button is swapped for the other with probability ``eps``."""
    flip = torch.rand(pressed.shape[:-1] + (1,), generator=generator, dtype=DTYPE) < eps
    return torch.where(flip, pressed.flip(-1), pressed)


def posterior_pressed(probs, transmitted, eps):
    """Bayes: ``Pr(B = b | S, A) ∝ pi(b | S) * Pr(A | b)``, with ``Pr(A | b) = 1 - eps`` if ``b = A``."""
    check_eps(eps)
    likelihood = transmitted * (1 - eps) + (1 - transmitted) * eps
    joint = probs * likelihood
    return joint / joint.sum(-1, keepdim=True)


def most_probable_pressed(probs, transmitted, eps):
    """The MAP estimate of the pressed button given the state and the transmitted button."""
    post = posterior_pressed(probs, transmitted, eps)
    return F.one_hot(post.argmax(-1), 2).to(DTYPE)


def update_mean_std(p_good, eps, mode):
    """Exact mean and standard deviation of one REINFORCE update behind the faulty controller.

    The update is ``R * (x - pi)`` with ``x`` the pressed button (``"pressed"``), its MAP
    estimate (``"map"``) or its posterior (``"posterior"``); we report its component along the
    rewarded button, which carries all of it for two buttons. ``p_good`` is the policy's
    probability of pressing the rewarded button (a tensor); the four outcomes (which button was
    pressed, whether it was flipped) are enumerated.
    """
    check_eps(eps)
    check_mode(mode)
    p = torch.as_tensor(p_good, dtype=DTYPE)
    probs = torch.stack([p, 1 - p], -1)  # button 0 is the rewarded one
    mean = torch.zeros_like(p)
    square = torch.zeros_like(p)
    for b in (0, 1):
        for flipped, chance in ((False, 1 - eps), (True, eps)):
            sent = b if not flipped else 1 - b
            weight = probs[..., b] * chance
            reward = 1.0 if sent == 0 else -1.0
            pressed, sent_hot = (F.one_hot(torch.tensor(i), 2).to(DTYPE).expand_as(probs) for i in (b, sent))
            x = learning_button(mode, pressed, probs, sent_hot, eps)
            u = reward * (x[..., 0] - p)
            mean = mean + weight * u
            square = square + weight * u ** 2
    return mean, (square - mean ** 2).clamp_min(0).sqrt()


def train_faulty_controller(n_states: int, eps: float, mode: str, episodes: int, batch_size: int,
                            lr: float, runs: int, seed: int = 0):
    """A softmax agent (one weight per state and button) behind a faulty controller.

    Each state has one rewarded button (+1 if it is *transmitted*, -1 otherwise). The agent
    learns by REINFORCE on the button it ``"pressed"``, on the ``"map"`` estimate of the
    pressed button, or on the ``"posterior"`` mean of ``grad log pi`` (the exact conditional
    expectation that the MAP estimate approximates). Plain gradient ascent with step ``lr``.
    Each of ``episodes`` updates uses a batch of ``batch_size`` presses per run.
    Returns two tensors of shape ``(runs, episodes)``: the mean reward of every update and the
    probability of pressing the rewarded button (averaged over states) before it.
    """
    eps = check_eps(eps)
    check_mode(mode)
    n_states, episodes, batch_size, runs = (integer(k, v) for k, v in (
        ("n_states", n_states), ("episodes", episodes), ("batch_size", batch_size), ("runs", runs)))
    lr, seed = real("lr", lr, 0.0), integer("seed", seed, 0)
    gen = torch.Generator().manual_seed(seed)
    net = init_network([n_states, 2], [Softmax(1.0)], runs=runs, seed=seed)
    net.layers[0].weight.zero_()
    good = torch.randint(0, 2, (runs, n_states), generator=gen)
    rewards = torch.empty(runs, episodes, dtype=DTYPE)
    p_good = torch.empty(runs, episodes, dtype=DTYPE)
    out = net.layers[0]
    every_state = torch.eye(n_states, dtype=DTYPE).expand(runs, n_states, n_states)
    for t in range(episodes):
        s = torch.randint(0, n_states, (runs, batch_size), generator=gen)
        state = F.one_hot(s, n_states).to(DTYPE)
        probs = out.units.probs(out.preact(state))
        p_good[:, t] = out.units.probs(out.preact(every_state)).gather(2, good.unsqueeze(2)).mean((1, 2))
        pressed = out.units.sample(out.preact(state), gen)
        sent = transmit(pressed, eps, gen)
        reward = torch.where(sent.argmax(-1) == good.gather(1, s), 1.0, -1.0).to(DTYPE)
        button = learning_button(mode, pressed, probs, sent, eps)
        for p, g in zip(net.parameters(), reinforce_update(net, [state, button], reward)):
            p.add_(g, alpha=lr)
        rewards[:, t] = reward.mean(1)
    return rewards, p_good
