"""Appendix B.5 of [MAP]: the reparameterised rule (eq. 10) follows the gradient in expectation."""
import math

import pytest
import torch

from companion import theory
from companion.network import DTYPE, init_network, sample
from companion.rules import reparam_update
from companion.tasks import Multiplexer
from companion.units import Normal, Softmax

STATES = torch.tensor([[-1.0, -1.0], [-1.0, 1.0], [1.0, -1.0], [1.0, 1.0]], dtype=DTYPE)
PROBS = torch.full((4,), 0.25, dtype=DTYPE)
THREE_POINT = ([-math.sqrt(3), 0.0, math.sqrt(3)], [1 / 6, 2 / 3, 1 / 6])  # mean 0, variance 1


def small_normal_net(seed=0, runs=3):
    units = [Normal("softplus", 0.3), Normal("softplus", 0.5), Softmax(2.0)]
    return init_network([2, 3, 2, 3], units, runs=runs, seed=seed, bias_range=0.5)


def reward_table(seed=0):
    return torch.randn(4, 3, generator=torch.Generator().manual_seed(seed), dtype=DTYPE)


def test_reparameterised_update_is_unbiased_by_enumeration():
    net, table = small_normal_net(), reward_table()
    expected = theory.reparam_expected_update(net, STATES, PROBS, table, *THREE_POINT)
    exact = theory.reparam_exact_gradient(net, STATES, PROBS, table, *THREE_POINT)
    assert all(e.abs().max() > 1e-4 for e in exact)
    for e, g in zip(expected, exact):
        torch.testing.assert_close(e, g, rtol=1e-10, atol=1e-12)


def test_a_constant_added_to_the_reward_leaves_the_expectation_unchanged():
    net, table = small_normal_net(seed=1), reward_table(1)
    exact = theory.reparam_exact_gradient(net, STATES, PROBS, table, *THREE_POINT)
    shifted = theory.reparam_expected_update(net, STATES, PROBS, table + 1.0, *THREE_POINT)
    for e, g in zip(shifted, exact):
        torch.testing.assert_close(e, g, rtol=1e-10, atol=1e-12)
    other = theory.reparam_exact_gradient(net, STATES, PROBS, reward_table(2), *THREE_POINT)
    assert not torch.allclose(other[0], exact[0])


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="support_probs must be a probability for each value of support"):
        theory.noise_configurations(small_normal_net(), [-1.0, 1.0], [0.5, 0.6])
    regression = init_network([3, 4, 1], [Normal("softplus", 0.3), Normal("linear", 1.0)], runs=1, seed=0)
    with pytest.raises(ValueError, match="the output layer must be a Softmax to sum over the actions"):
        theory.action_summed_gradient(regression, Multiplexer(1), samples=4, chunk=2)


def test_action_summed_gradient_agrees_with_the_reparameterised_rule_within_mc_error():
    task = Multiplexer(1)
    net = init_network([3, 4, 3, 2], [Normal("softplus", 0.3), Normal("softplus", 1.0), Softmax(1.0)], runs=2,
                       seed=3, bias_range=0.1)
    reference, error = theory.action_summed_gradient(net, task, samples=2**15, chunk=2**11, seed=0)
    means, _ = theory.update_moments(net, task, sample, reparam_update, samples=2**16, chunk=2**12, seed=1)
    for l in range(2):
        gap = (reference[l] - means[l]).norm(dim=-1)
        assert (gap < 0.1 * reference[l].norm(dim=-1)).all()
        assert (error[l] < 0.05 * reference[l].norm(dim=-1)).all()
    again, _ = theory.action_summed_gradient(net, task, samples=2**15, chunk=2**11, seed=0)
    assert all(torch.equal(a, b) for a, b in zip(again, reference))
