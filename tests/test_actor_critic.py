import os

import numpy as np
import pytest
import torch

from companion import agents, teams
from companion.agents import ActorCriticConfig, train_actor_critic
from companion.bench import cartpole_teams
from companion.envs import RunEnvs
from companion.experiments import REGISTRY
from companion.network import init_network
from companion.runner import run_group
from companion.teams import accumulate_traces
from companion.units import Normal, Softmax

CFG = ActorCriticConfig(actor_lrs=[1e-2, 1e-5, 1e-6], critic_lrs=[2e-2, 2e-5, 2e-6], actor_lambda=0.95, critic_lambda=0.95)


def test_map_prop_actor_critic_improves_on_cartpole_in_every_run():
    """Smoke scale: 6 runs, 30 episodes. Every run must end better than it began."""
    actor, critic = cartpole_teams(6)
    returns = train_actor_critic(actor, critic, RunEnvs("CartPole-v1", 6, seed=0), 30, CFG, seed=3)
    assert returns.shape == (6, 30) and (returns > 0).all()
    early, late = returns[:, :5].mean(1), returns[:, -5:].mean(1)
    assert (late > early).all(), (early, late)
    assert late.mean() > 2 * early.mean(), (early, late)


@pytest.mark.parametrize("env_id, out, var, compiled", [
    ("CartPole-v1", Softmax(2.0), (0.03, 0.1), False),
    ("MountainCarContinuous-v0", Normal("linear", 0.5), (0.03, 0.1), False),
    ("CartPole-v1", Softmax(2.0), (0.03, 0.1), True),  # the compiled path used by the experiments
])
def test_paired_teams_give_the_same_run_as_separate_teams(env_id, out, var, compiled):
    """The fused implementation against the reference: same returns, same weights up to rounding."""
    results = []
    for fused in (False, True):
        n_obs, n_out = (4, 2) if env_id.startswith("Cart") else (2, 1)
        actor = init_network([n_obs, 16, 8, n_out], [Normal("softplus", var[0]), Normal("softplus", var[1]), out], runs=3, seed=1)
        critic = init_network([n_obs, 16, 8, 1], [Normal("softplus", 0.03), Normal("softplus", 0.1), Normal("linear", 0.1)],
                              runs=3, seed=2)
        cfg = ActorCriticConfig(actor_lrs=[1e-2, 1e-4, 1e-5], critic_lrs=[2e-2, 2e-4, 2e-5], actor_lambda=0.9,
                                critic_lambda=0.8, settle_steps=5)
        action_map = None if n_out == 2 else (lambda a: a.numpy().clip(-1, 1))
        returns = train_actor_critic(actor, critic, RunEnvs(env_id, 3, seed=0), 3, cfg, seed=3, action_map=action_map,
                                     fused=fused, compiled=compiled and fused)
        results.append((returns, actor.parameters() + critic.parameters()))
    (ret_a, par_a), (ret_b, par_b) = results
    assert np.allclose(ret_a, ret_b, rtol=1e-9)
    # the fused Adam kernel rounds differently (1e-16 per step); a few thousand online updates
    # amplify that to about 1e-8, far below any change a wrong rule would make
    for a, b in zip(par_a, par_b):
        assert torch.allclose(a, b, rtol=1e-6, atol=1e-7)
    assert not torch.equal(par_a[0], init_network([n_obs, 16, 8, n_out], [Normal(), Normal(), out], runs=3, seed=1).layers[0].weight)


def test_traces_decay_accumulate_and_restart():
    z = [torch.ones(2, 3)]
    g = [torch.full((2, 3), 0.5)]
    out = accumulate_traces(z, g, 0.9, torch.tensor([False, True]))
    assert torch.allclose(out[0][0], torch.full((3,), 1.4))
    assert torch.allclose(out[0][1], torch.full((3,), 0.5))


def test_run_envs_reset_on_episode_end_and_clip_rewards():
    envs = RunEnvs("MountainCarContinuous-v0", 2, seed=0, reward_clip=5.0)
    obs = envs.reset()
    assert obs.shape == (2, 2)
    _, raw, clipped, term, trunc = envs.step(np.array([[1.0], [-1.0]]), np.array([True, False]))
    assert raw[1] == 0.0 and clipped[0] == raw[0]
    assert (np.abs(clipped) <= 5).all()


def test_bad_env_and_episodes():
    with pytest.raises(ValueError, match="env_id must name a gymnasium environment, got 'NoSuchEnv-v0'"):
        RunEnvs("NoSuchEnv-v0", 1, seed=0)
    with pytest.raises(ValueError, match="reward_clip must be a positive finite number, got -1"):
        RunEnvs("CartPole-v1", 1, seed=0, reward_clip=-1)
    actor, critic = cartpole_teams(1)
    with pytest.raises(ValueError, match="episodes must be an integer at least 1, got 0"):
        train_actor_critic(actor, critic, RunEnvs("CartPole-v1", 1, seed=0), 0, CFG)


def test_recorded_episodes_hold_the_visited_states():
    actor, critic = cartpole_teams(2)
    returns, states = train_actor_critic(actor, critic, RunEnvs("CartPole-v1", 2, seed=0), 3, CFG, seed=3,
                                         record_episodes=[0, 2])
    assert states.shape == (2, 2, 501, 4)
    lengths = np.isfinite(states[..., 0]).sum(-1)
    assert (lengths == returns[:, [0, 2]]).all()  # one state per step (CartPole pays 1 per step)
    assert np.allclose(np.abs(states[:, 0, 0]), np.abs(states[:, 0, 0]).clip(max=0.05))  # reset states are small


@pytest.mark.parametrize("kind", ["weight_max", "ste"])
def test_bernoulli_actors_improve_on_cartpole(kind):
    """Weight Max and STE backprop actors (Bernoulli 32-16 teams) with a backprop critic, smoke scale."""
    from companion.units import Bernoulli
    actor = init_network([4, 32, 16, 2], [Bernoulli(), Bernoulli(), Softmax(1.0)], runs=4, seed=1, bias_range=1e-3)
    critic = init_network([4, 32, 16, 1], [Normal("softplus", 1.0), Normal("softplus", 1.0), Normal("linear", 1.0)],
                          runs=4, seed=2)
    cfg = ActorCriticConfig([2e-2, 2e-4, 2e-5], [4e-2, 4e-5, 4e-6], 0.0, 0.8, settle_steps=0, actor_kind=kind, critic_kind="ann")
    returns = train_actor_critic(actor, critic, RunEnvs("CartPole-v1", 4, seed=0), 100, cfg, seed=3)
    early, late = returns[:, :10].mean(1), returns[:, -10:].mean(1)
    assert late.mean() > 2 * early.mean() and (late > early).sum() >= 3, (early, late)


def test_weight_max_with_traces_and_no_delay_is_the_synchronous_rule():
    """delay 0 and no trace decay: the traced Weight Max actor makes the same run as plain Weight Max."""
    from companion.units import Bernoulli
    results = []
    for kind in ("weight_max", "weight_max_topdown", "weight_max_async"):
        actor = init_network([4, 16, 8, 2], [Bernoulli(), Bernoulli(), Softmax(1.0)], runs=3, seed=1, bias_range=1e-3)
        critic = init_network([4, 16, 8, 1], [Normal("softplus", 1.0), Normal("softplus", 1.0), Normal("linear", 1.0)],
                              runs=3, seed=2)
        cfg = ActorCriticConfig([2e-2, 2e-4, 2e-5], [4e-2, 4e-5, 4e-6], 0.0, 0.8, settle_steps=0, actor_kind=kind,
                                critic_kind="ann")
        returns = train_actor_critic(actor, critic, RunEnvs("CartPole-v1", 3, seed=0), 4, cfg, seed=3)
        results.append((returns, actor.parameters()))
    (r_sync, p_sync), (r_top, p_top), (r_async, p_async) = results
    assert np.array_equal(r_sync, r_top)
    assert all(torch.allclose(a, b, rtol=1e-9, atol=1e-12) for a, b in zip(p_sync, p_top))
    assert not all(torch.allclose(a, b) for a, b in zip(p_sync[:2], p_async[:2]))  # the delay changes layer 1


def test_actor_and_critic_parts_are_chosen_by_name():
    actor, critic = cartpole_teams(2)
    for actor_kind, actor_part in teams.ACTORS.items():
        for critic_kind, critic_part in teams.CRITICS.items():
            cfg = ActorCriticConfig([1e-2] * 3, [1e-2] * 3, 0.9, 0.9, settle_steps=0, actor_kind=actor_kind,
                                    critic_kind=critic_kind)
            parts = teams.SeparateTeams(actor, critic, cfg)
            assert type(parts.actor) is actor_part and type(parts.critic) is critic_part
    with pytest.raises(ValueError, match="actor_kind must be one of .* got 'hebb'"):
        ActorCriticConfig([1e-2] * 3, [1e-2] * 3, 0.9, 0.9, actor_kind="hebb")
    with pytest.raises(ValueError, match=r"critic_kind must be one of \('team', 'ann'\), got 'weight_max'"):
        ActorCriticConfig([1e-2] * 3, [1e-2] * 3, 0.9, 0.9, critic_kind="weight_max")


@pytest.mark.skipif(not (agents.MALLOC_TRIM and os.path.exists("/proc/self/statm")), reason="glibc on Linux only")
def test_a_long_run_hands_freed_memory_back(monkeypatch):
    """The Weight Max paper's STE sweep on LunarLander (12 runs, 25 episodes): on glibc 2.36, without
    ``return_freed_memory``, the process grew 40 MB after its first 60 episodes (13 GB in 11 minutes
    at full length); trimmed every 100 steps it grew 9 MB, and it must stay within 30 MB."""
    monkeypatch.setattr(agents, "TRIM_EVERY", 100)
    page_mb = os.sysconf("SC_PAGE_SIZE") / 2**20
    rss, done = [], [0]

    def count(n):
        done[0] += n
        if done[0] >= 60:
            rss.append(int(open("/proc/self/statm").read().split()[1]) * page_mb)

    run_group(REGISTRY["wmsens_lunarlander_ste"], 0, 12, episodes=25, on_episode=count)
    assert len(rss) > 100 and max(rss) - rss[0] < 30, (rss[0], max(rss))
