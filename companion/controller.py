"""The faulty controller: the two-button intuition behind MAP Propagation ([REVIEW], [MAP]).

An agent presses one of two buttons; the controller transmits the other one with probability
``eps``; the reward depends only on the transmitted button. The pressed button plays the
part of a hidden unit, the transmitted one the part of the network's action.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .network import DTYPE, init_network
from .rules import reinforce_update
from .units import Softmax

MODES = ("pressed", "map", "posterior")


def check_eps(eps):
    if not 0 <= eps < 0.5:
        raise ValueError(f"eps (flip probability) must lie in [0, 0.5), got {eps!r}")


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


def train_faulty_controller(n_states: int, eps: float, mode: str, batches: int, batch_size: int,
                            lr: float, runs: int, seed: int = 0):
    """A softmax agent (one weight per state and button) behind a faulty controller.

    Each state has one rewarded button (+1 if it is *transmitted*, -1 otherwise). The agent
    learns by REINFORCE on the button it ``"pressed"``, on the ``"map"`` estimate of the
    pressed button, or on the ``"posterior"`` mean of ``grad log pi`` (the exact conditional
    expectation that the MAP estimate approximates). Plain gradient ascent with step ``lr``.
    Returns the mean reward of every batch, shape ``(runs, batches)``.
    """
    check_eps(eps)
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    gen = torch.Generator().manual_seed(seed)
    net = init_network([n_states, 2], [Softmax(1.0)], runs=runs, seed=seed)
    net.layers[0].weight.zero_()
    good = torch.randint(0, 2, (runs, n_states), generator=gen)
    rewards = torch.empty(runs, batches, dtype=DTYPE)
    out = net.layers[0]
    for t in range(batches):
        s = torch.randint(0, n_states, (runs, batch_size), generator=gen)
        state = F.one_hot(s, n_states).to(DTYPE)
        probs = out.units.probs(out.preact(state))
        pressed = out.units.sample(out.preact(state), gen)
        sent = transmit(pressed, eps, gen)
        reward = torch.where(sent.argmax(-1) == good.gather(1, s), 1.0, -1.0).to(DTYPE)
        # grad log pi(b) = onehot(b) - pi is linear in the one-hot, so the posterior mean of the
        # gradient is the gradient at the posterior probabilities themselves
        button = {"pressed": lambda: pressed,
                  "map": lambda: most_probable_pressed(probs, sent, eps),
                  "posterior": lambda: posterior_pressed(probs, sent, eps)}[mode]()
        for p, g in zip(net.parameters(), reinforce_update(net, [state, button], reward)):
            p.add_(g, alpha=lr)
        rewards[:, t] = reward.mean(1)
    return rewards
