"""Run one group of runs of a registry experiment: build its networks, environments and trainer."""
from __future__ import annotations

from .agents import ActorCriticConfig, train_actor_critic, train_single_step
from .envs import RunEnvs
from .experiments import Experiment
from .network import init_network, run_seeds
from .optim import LinearSchedule
from .tasks import Multiplexer, Regression
from .units import Bernoulli, Normal, Softmax, SoftmaxLastZero

ACTION_MAPS = {
    "index": lambda a: a.numpy(),
    # the authors' map for MountainCar, clip(2a + 1, -1, 1): it pushes right when a = 0 (see chapter 4)
    "authors": lambda a: (2 * a.numpy() + 1).clip(-1, 1),
    "symmetric": lambda a: a.numpy().clip(-1, 1),
}


def _schedules(spec):
    start, end, steps = spec
    return [LinearSchedule(a, b, steps) for a, b in zip(start, end)]


def group_seed(exp: Experiment, first_run: int) -> int:
    """The seed of the group starting at ``first_run`` (independent of how many groups there are)."""
    return run_seeds(exp.seed, first_run // exp.group + 1)[-1]


def _actor_critic_group(exp, runs, seed, length, on_episode, compile, networks=None):
    """Train one group of an actor-critic experiment; ``networks`` (a dict), when given, receives
    the trained ``actor`` and ``critic`` and the ``envs``."""
    p = exp.params
    envs = RunEnvs(exp.task, runs, seed=seed + 2, reward_clip=p["reward_clip"])
    sizes = [envs.n_obs, *p["hidden"]]
    hidden = lambda var, act=p["activation"]: [Normal(act, v) for v in var]  # noqa: E731
    kind, value = p["actor_out"]
    out = {"softmax": Softmax, "softmax_last_zero": SoftmaxLastZero}.get(kind, lambda v: Normal("linear", v))(value)
    width = envs.n_actions - 1 if kind == "softmax_last_zero" else envs.n_actions
    actor_hidden = ([Bernoulli()] * len(p["hidden"]) if p.get("actor_units") == "bernoulli"
                    else hidden(p["actor_var"], p.get("actor_activation", p["activation"])))
    actor = init_network(sizes + [width], actor_hidden + [out], runs, seed=seed, bias_range=p.get("bias_range", 0.0))
    critic = init_network(sizes + [1], hidden(p["critic_var"][:-1]) + [Normal("linear", p["critic_var"][-1])],
                          runs, seed=seed + 1)
    cfg = ActorCriticConfig(_schedules(p["actor_lr"]), _schedules(p["critic_lr"]), p["actor_lambda"],
                            p["critic_lambda"], gamma=p["gamma"], steps=p["settle_steps"],
                            actor_kind=p.get("actor_kind", "team"), critic_kind=p.get("critic_kind", "team"),
                            explore=p.get("explore", 1.0))
    record = [e for e in p.get("record_episodes", ()) if e < length]
    out = train_actor_critic(actor, critic, envs, length, cfg, seed=seed + 3, action_map=ACTION_MAPS[p["action_map"]],
                             compile=compile, on_episode=on_episode, record_episodes=record)
    if networks is not None:
        networks.update(actor=actor, critic=critic, envs=envs)
    return {"returns": out[0], "states": out[1]} if record else {"returns": out}


def _single_step_group(exp, runs, seed, length, on_episode, compile):
    p = exp.params
    if exp.task == "multiplexer-37":
        task, out = Multiplexer(5), Softmax(p["temperature"])
    elif exp.task == "multiplexer-20":  # [WM]: one Bernoulli output unit, its 0/1 read as the bit
        task, out = Multiplexer(4), Bernoulli()
    else:
        task, out = Regression(8, p["target_seed"]), Normal("linear", p["output_var"])
    if p.get("units") == "bernoulli":
        units = [Bernoulli()] * len(p["hidden"]) + [out]
    else:
        units = [Normal(p["activation"], v) for v in p["hidden_var"]] + [out]
    width = 1 if isinstance(out, Bernoulli) else task.n_actions
    net = init_network([task.n_inputs, *p["hidden"], width], units, runs, seed=seed, bias_range=p.get("bias_range", 0.0))
    rewards = train_single_step(net, task, p["learner"], length, p["batch_size"], p["lr"], seed=seed + 1,
                                on_batch=on_episode, settle_steps=p.get("settle_steps"))
    return {"returns": rewards.numpy()}


def run_group(exp: Experiment, first_run: int, runs: int, length: int | None = None, on_episode=None,
              compile: bool = True) -> dict:
    """Run one group of ``runs`` runs for ``length`` episodes (batches); returns arrays ``(runs, length)``.

    A group's runs depend only on the experiment and ``first_run``, never on the other groups,
    so groups can run in any order, in parallel, and be replayed alone. ``on_episode(n)`` is
    called with the number of episodes (batches) just finished.
    """
    length = exp.length if length is None else length
    seed = group_seed(exp, first_run)
    runner = _actor_critic_group if exp.kind == "actor_critic" else _single_step_group
    try:
        return runner(exp, runs, seed, length, on_episode, compile)
    except FloatingPointError as err:
        raise FloatingPointError(f"experiment {exp.name}, runs {first_run}-{first_run + runs - 1}: {err}") from None


def trained_group(exp: Experiment, first_run: int, runs: int, length: int) -> tuple:
    """Train one group of an actor-critic experiment exactly as :func:`run_group` does (its
    returns are the stored ones) and keep what it trained, to look inside the runs.

    Returns ``(returns, networks)``: returns ``(runs, length)`` and a dict of the trained
    ``actor`` and ``critic`` and the ``envs``.
    """
    if exp.kind != "actor_critic":
        raise ValueError(f"trained_group needs an actor-critic experiment, got {exp.name!r} of kind {exp.kind!r}")
    networks = {}
    arrays = _actor_critic_group(exp, runs, group_seed(exp, first_run), length, None, False, networks)
    return arrays["returns"], networks
