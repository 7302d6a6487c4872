import pytest
import torch
from conftest import random_values

from companion.network import Layer
from companion.units import Bernoulli, Normal, Softmax


def test_dlogp_dz_equals_autograd(family):
    gen = torch.Generator().manual_seed(1)
    z = torch.randn(2, 6, 4, generator=gen, dtype=torch.float64) * 2
    h = random_values(family, z)
    z_ = z.clone().requires_grad_(True)
    (auto,) = torch.autograd.grad(family.log_prob(h, z_).sum(), z_)
    assert torch.allclose(family.dlogp_dz(h, z), auto, rtol=0, atol=1e-10)


def test_weight_and_input_grads_equal_autograd(family):
    gen = torch.Generator().manual_seed(2)
    x = torch.randn(2, 5, 3, generator=gen, dtype=torch.float64)
    layer = Layer(torch.randn(2, 3, 4, generator=gen, dtype=torch.float64),
                  torch.randn(2, 4, generator=gen, dtype=torch.float64), family)
    h = random_values(family, layer.preact(x))
    w, b, x_ = (t.clone().requires_grad_(True) for t in (layer.weight, layer.bias, x))
    logp = family.log_prob(h, torch.baddbmm(b.unsqueeze(1), x_, w))
    gw, gb, gx = torch.autograd.grad(logp.mean(1).sum(), (w, b, x_))
    dz = family.dlogp_dz(h, layer.preact(x))
    dw, db = layer.weight_grads(x, dz)
    assert torch.allclose(dw, gw, rtol=0, atol=1e-10)
    assert torch.allclose(db, gb, rtol=0, atol=1e-10)
    # input gradient of the per-sample log-probability (batch mean scales it by 1/B)
    assert torch.allclose(layer.input_grad(dz) / x.shape[1], gx, rtol=0, atol=1e-10)


def test_means_match_sample_averages(family):
    z = torch.linspace(-1.5, 1.5, 4, dtype=torch.float64).expand(1, 200_000, 4)
    h = random_values(family, z, seed=3)
    assert torch.allclose(h.mean(1), family.mean(z)[:, 0], atol=0.01)


def test_softmax_samples_are_one_hot_with_the_right_frequencies():
    units = Softmax(2.0)
    z = torch.tensor([[[0.0, 1.0, 3.0]]], dtype=torch.float64).expand(1, 100_000, 3)
    h = random_values(units, z, seed=4)
    assert torch.all(h.sum(-1) == 1)
    assert torch.allclose(h.mean(1), units.probs(z[:, :1])[:, 0], atol=0.01)


@pytest.mark.parametrize("bad, match", [
    (lambda: Normal("softplus", 0.0), "var must be a positive finite number, got 0.0"),
    (lambda: Normal("softplus", -1.0), "var must be a positive"),
    (lambda: Normal("tanh", 1.0), "activation must be one of .*'tanh'"),
    (lambda: Softmax(0), "temperature must be a positive finite number, got 0"),
    (lambda: Softmax(float("inf")), "temperature must be a positive"),
])
def test_bad_arguments_are_named(bad, match):
    with pytest.raises(ValueError, match=match):
        bad()


def test_bernoulli_action_needs_one_unit():
    with pytest.raises(ValueError, match="must have 1 unit"):
        Bernoulli().action(torch.zeros(1, 2, 3))


def test_softmax_with_the_last_logit_fixed_at_zero():
    from companion.units import SoftmaxLastZero
    units = SoftmaxLastZero(2.0)
    z = torch.randn(2, 5, 3, dtype=torch.float64, requires_grad=True)
    full = torch.cat([z, torch.zeros(2, 5, 1, dtype=torch.float64)], -1)
    assert torch.allclose(units.probs(z), torch.softmax(full / 2.0, -1))
    h = units.sample(z.detach(), torch.Generator().manual_seed(0))
    assert h.shape == (2, 5, 4) and torch.all(h.sum(-1) == 1)
    (auto,) = torch.autograd.grad(units.log_prob(h, z).sum(), z)
    assert torch.allclose(units.dlogp_dz(h, z.detach()), auto)
