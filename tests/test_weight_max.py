import pytest
import torch

from companion.network import init_network, sample
from companion.rules import reinforce_update, ste_update, unit_rewards, weight_max_signals, weight_max_update
from companion.units import Bernoulli, Softmax


def bernoulli_net(runs=2, seed=0):
    return init_network([5, 6, 4, 3], [Bernoulli(), Bernoulli(), Softmax()], runs=runs, seed=seed, bias_range=0.5)


def sampled(net, batch=7, seed=1):
    gen = torch.Generator().manual_seed(seed)
    state = (torch.rand(net.runs, batch, 5, generator=gen) < 0.5).double()
    values = sample(net, state, gen)
    return values, torch.randn(net.runs, batch, generator=gen, dtype=torch.float64)


def test_unit_rewards_are_the_first_order_change_of_the_squared_outgoing_norm():
    net = bernoulli_net()
    values, reward = sampled(net)
    signals = weight_max_signals(net, values, reward)
    for l in (1, 2):  # hidden layer l, outgoing weights W^{l+1}
        above = net.layers[l]
        per_sample = values[l].unsqueeze(-1) * signals[l].unsqueeze(-2)  # dW_ij = h_i g_j, (R, B, n, m)
        r = unit_rewards(values[l], above.weight, signals[l])
        for alpha in (1e-1, 1e-3):
            new = above.weight.unsqueeze(1) + alpha * per_sample
            exact = (new**2).sum(-1) - (above.weight.unsqueeze(1) ** 2).sum(-1)
            # the exact change differs from alpha * R by exactly alpha^2 |dW_i|^2
            assert torch.allclose(exact - alpha * r, alpha**2 * (per_sample**2).sum(-1), rtol=1e-6, atol=1e-15)


def test_the_output_layer_learns_by_reinforce_and_hidden_layers_by_their_own_rewards():
    net = bernoulli_net()
    values, reward = sampled(net)
    ours, plain = weight_max_update(net, values, reward), reinforce_update(net, values, reward)
    assert torch.allclose(ours[-2], plain[-2]) and torch.allclose(ours[-1], plain[-1])
    assert not torch.allclose(ours[0], plain[0])
    doubled = weight_max_update(net, values, 2 * reward)  # reward enters every layer linearly
    assert all(torch.allclose(2 * a, b) for a, b in zip(ours, doubled))


def test_ste_gradient_is_the_chain_rule_with_the_slope_of_the_mean():
    net = init_network([5, 6, 3], [Bernoulli(), Softmax()], runs=2, seed=3, bias_range=0.5)
    values, reward = sampled(net)
    first, out = net.layers
    z1 = first.preact(values[0])
    dz_out = out.units.dlogp_dz(values[2], out.preact(values[1])) * reward.unsqueeze(-1)
    dz1 = out.input_grad(dz_out) * torch.sigmoid(z1) * (1 - torch.sigmoid(z1))
    expected = first.weight_grads(values[0], dz1) + out.weight_grads(values[1], dz_out)
    for a, b in zip(ste_update(net, values, reward), expected):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-14)
    assert set(values[1].unique().tolist()) <= {0.0, 1.0}


def test_bad_reward_shape():
    net = bernoulli_net()
    values, reward = sampled(net)
    with pytest.raises(ValueError, match="reward must be a tensor of shape \\(runs, batch\\) = \\(2, 7\\), got Tensor \\(2, 6\\)"):
        weight_max_update(net, values, reward[:, :6])


def test_expected_updates_by_enumeration():
    """REINFORCE's expectation is exactly the gradient (Theorem 1); Weight Max's points nearly along it."""
    import itertools

    from companion import theory
    net = init_network([3, 4, 3, 2], [Bernoulli(), Bernoulli(), Softmax()], runs=3, seed=0, bias_range=0.5)
    states = torch.tensor(list(itertools.product((0.0, 1.0), repeat=3)), dtype=torch.float64)
    state_probs = torch.full((8,), 1 / 8, dtype=torch.float64)
    table = torch.randn(8, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    values, probs, _, _ = theory.joint_configurations(net, states, state_probs)
    assert values[1].shape == (3, 8 * 16 * 8 * 2, 4) and torch.allclose(probs.sum(1), torch.ones(3, dtype=torch.float64))
    exact = theory.exact_gradient(net, states, state_probs, table)
    for a, b in zip(theory.expected_update(net, reinforce_update, states, state_probs, table), exact):
        assert torch.allclose(a, b, rtol=1e-10, atol=1e-14)
    for a, b in zip(theory.expected_update(net, weight_max_update, states, state_probs, table)[:4], exact[:4]):
        a, b = a.flatten(1), b.flatten(1)
        assert ((a * b).sum(1) / (a.norm(dim=1) * b.norm(dim=1)) > 0.95).all()


def test_exact_norm_change_rewards():
    net = bernoulli_net()
    values, reward = sampled(net)
    signals = weight_max_signals(net, values, reward)
    above = net.layers[2]
    per_sample = values[2].unsqueeze(-1) * signals[2].unsqueeze(-2)
    exact = ((above.weight.unsqueeze(1) + 0.3 * per_sample) ** 2).sum(-1) - (above.weight.unsqueeze(1) ** 2).sum(-1)
    assert torch.allclose(unit_rewards(values[2], above.weight, signals[2], alpha=0.3), exact / 0.3)
    small = weight_max_update(net, values, reward, alpha=1e-9)
    assert all(torch.allclose(a, b, rtol=1e-6, atol=1e-12) for a, b in zip(small, weight_max_update(net, values, reward)))
