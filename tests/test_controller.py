import pytest
import torch

from companion.controller import (
    most_probable_pressed,
    posterior_pressed,
    train_faulty_controller,
    transmit,
    update_mean_std,
)


def test_transmit_flips_at_the_given_rate():
    pressed = torch.tensor([1.0, 0.0], dtype=torch.float64).expand(1, 100_000, 2)
    sent = transmit(pressed, 0.2, torch.Generator().manual_seed(0))
    assert abs((sent[..., 1] == 1).double().mean().item() - 0.2) < 0.01
    assert torch.all(sent.sum(-1) == 1)


def test_posterior_matches_simulated_frequencies():
    gen = torch.Generator().manual_seed(1)
    probs = torch.tensor([0.7, 0.3], dtype=torch.float64)
    pressed = torch.nn.functional.one_hot(torch.multinomial(probs, 200_000, True, generator=gen), 2).double()
    sent = transmit(pressed.unsqueeze(0), 0.1, gen)[0]
    got_b = sent[:, 1] == 1
    empirical = pressed[got_b, 0].mean().item()  # Pr(pressed A | transmitted B)
    exact = posterior_pressed(probs.view(1, 1, 2), torch.tensor([[[0.0, 1.0]]], dtype=torch.float64), 0.1)[0, 0, 0]
    assert exact.item() == pytest.approx(0.7 * 0.1 / (0.7 * 0.1 + 0.3 * 0.9))
    assert abs(empirical - exact.item()) < 0.01


def test_map_button_follows_the_transmitted_one_unless_the_policy_is_sure():
    sent_b = torch.tensor([[[0.0, 1.0]]], dtype=torch.float64)
    unsure = torch.tensor([[[0.6, 0.4]]], dtype=torch.float64)
    sure = torch.tensor([[[0.95, 0.05]]], dtype=torch.float64)
    assert most_probable_pressed(unsure, sent_b, 0.05).tolist() == [[[0.0, 1.0]]]
    assert most_probable_pressed(sure, sent_b, 0.2).tolist() == [[[1.0, 0.0]]]


def test_without_faults_every_mode_learns_identically():
    curves = [train_faulty_controller(3, 0.0, m, episodes=200, batch_size=4, lr=0.1, runs=3, seed=2)
              for m in ("pressed", "map", "posterior")]
    for rewards, p_good in curves[1:]:
        assert torch.equal(rewards, curves[0][0]) and torch.allclose(p_good, curves[0][1])
    rewards, p_good = curves[0]
    assert rewards[:, -50:].mean() > rewards[:, :20].mean() + 0.3
    assert torch.allclose(p_good[:, 0], torch.tensor(0.5, dtype=torch.float64)) and p_good[:, -1].min() > 0.8


def test_update_moments_at_an_undecided_policy():
    half = torch.tensor(0.5)
    mean, std = update_mean_std(half, 0.2, "pressed")
    assert mean.item() == pytest.approx(0.5 * (1 - 2 * 0.2)) and std.item() == pytest.approx(0.4)
    mean, std = update_mean_std(half, 0.2, "map")  # the MAP button is the transmitted one: always +0.5
    assert mean.item() == pytest.approx(0.5) and std.item() == pytest.approx(0.0, abs=1e-12)
    mean, std = update_mean_std(half, 0.2, "posterior")
    assert mean.item() == pytest.approx(0.3) and std.item() < 0.4


def test_update_moments_match_simulated_updates():
    gen = torch.Generator().manual_seed(3)
    probs = torch.tensor([0.8, 0.2], dtype=torch.float64).expand(1, 200_000, 2)
    pressed = torch.nn.functional.one_hot(torch.multinomial(probs[0], 1, generator=gen)[:, 0], 2).double()[None]
    sent = transmit(pressed, 0.3, gen)
    reward = torch.where(sent[..., 0] == 1, 1.0, -1.0)
    for mode, button in [("pressed", pressed), ("map", most_probable_pressed(probs, sent, 0.3)),
                         ("posterior", posterior_pressed(probs, sent, 0.3))]:
        u = reward * (button[..., 0] - 0.8)
        mean, std = update_mean_std(torch.tensor(0.8), 0.3, mode)
        assert abs(u.mean().item() - mean.item()) < 0.005 and abs(u.std().item() - std.item()) < 0.005


@pytest.mark.parametrize("kwargs, match", [
    (dict(eps=0.5), "eps \\(flip probability\\) must be a finite number in \\[0, 0.5\\), got 0.5"),
    (dict(mode="argmax"), "mode must be one of \\('pressed', 'map', 'posterior'\\), got 'argmax'"),
])
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        update_mean_std(torch.tensor(0.5), kwargs.get("eps", 0.1), kwargs.get("mode", "map"))
    args = dict(n_states=2, eps=0.1, mode="map", episodes=1, batch_size=1, lr=0.1, runs=1) | kwargs
    with pytest.raises(ValueError, match=match):
        train_faulty_controller(**args)
