"""Gymnasium environments, one per run, stepped together."""
from __future__ import annotations

import gymnasium as gym
import numpy as np

from .checks import integer, positive
from .network import run_seeds


class RunEnvs:
    """``runs`` copies of one gymnasium environment, each seeded from its run's own seed.

    :meth:`step` steps every run whose ``active`` flag is set and resets a run as soon as its
    episode ends, returning that run's first observation of the next episode together with
    the reward and the ``terminated``/``truncated`` flags of the step that ended the old one.
    No transition crosses an episode boundary: the caller sees the flags and acts on them.
    Observations that are not finite stop the run with a ``ValueError`` naming the runs.
    """

    def __init__(self, env_id: str, runs: int, seed: int, reward_clip: float | None = None):
        runs, seed = integer("runs", runs, 1, 10_000), integer("seed", seed, 0)
        if reward_clip is not None:
            reward_clip = positive("reward_clip", reward_clip)
        if not isinstance(env_id, str):
            raise ValueError(f"env_id must name a gymnasium environment, got {env_id!r}")
        try:
            self.envs = [gym.make(env_id) for _ in range(runs)]
        except gym.error.Error as err:
            raise ValueError(f"env_id must name a gymnasium environment, got {env_id!r} ({err})") from None
        self.env_id, self.reward_clip = env_id, reward_clip
        self.seeds = run_seeds(seed, runs)
        space = self.envs[0].action_space
        self.discrete = isinstance(space, gym.spaces.Discrete)
        self.n_actions = int(space.n) if self.discrete else int(np.prod(space.shape))
        self.n_obs = int(np.prod(self.envs[0].observation_space.shape))

    def reset(self) -> np.ndarray:
        """Reset every run with its own seed; returns the first observations, ``(R, n_obs)``."""
        return self.finite(np.stack([env.reset(seed=s)[0] for env, s in zip(self.envs, self.seeds)]).astype(np.float64))

    def step(self, actions, active):
        """Returns ``(obs, reward, clipped_reward, terminated, truncated)``, one row per run."""
        runs = len(self.envs)
        obs = np.zeros((runs, self.n_obs))
        reward = np.zeros(runs)
        terminated = np.zeros(runs, dtype=bool)
        truncated = np.zeros(runs, dtype=bool)
        for r, env in enumerate(self.envs):
            if not active[r]:
                continue
            obs[r], reward[r], terminated[r], truncated[r], _ = env.step(actions[r])
            if terminated[r] or truncated[r]:
                obs[r] = env.reset()[0]
        clipped = reward if self.reward_clip is None else np.clip(reward, -self.reward_clip, self.reward_clip)
        return self.finite(obs), reward, clipped, terminated, truncated

    def finite(self, obs) -> np.ndarray:
        """``obs``, refused if any run's observation is not finite."""
        if not np.isfinite(obs).all():
            bad = np.flatnonzero(~np.isfinite(obs).all(1)).tolist()
            raise ValueError(f"observations must be finite, got NaN or infinite entries from {self.env_id} "
                             f"in run(s) {bad}")
        return obs
