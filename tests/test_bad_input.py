"""Bad input, table by table: the command line, the results store and the public functions each
answer with one line naming the argument, the value and what was expected, before any compute,
and leave what is stored untouched."""
import hashlib
import json
import math
import re
import shutil

import numpy as np
import pytest
import torch

from companion import controller, experiments, reproduce, store, theory
from companion.__main__ import main
from companion.agents import ActorCriticConfig, train_actor_critic, train_single_step
from companion.envs import RunEnvs
from companion.network import action_probs, init_network, sample, sample_exploring_some
from companion.optim import Adam, LinearSchedule
from companion.rules import settle
from companion.tasks import Multiplexer, Regression
from companion.units import Bernoulli, Normal, Softmax

NAME = "reinforce_multiplexer"  # the small result every test folder holds (2 runs x 3 batches)
UNWRITABLE = "/sys/companion-results"  # not even root can create files under /sys
NAN, INF = float("nan"), float("inf")


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    root = tmp_path_factory.mktemp("stored")
    reproduce.reproduce([NAME], runs=2, episodes=3, root=root, compiled=False, progress=False)
    return root


@pytest.fixture
def root(stored, tmp_path):
    """A fresh copy of the stored folder, and a file beside it."""
    shutil.copytree(stored, tmp_path / "results")
    (tmp_path / "file").write_text("not a folder")
    return tmp_path / "results"


def snapshot(folder):
    return {p.relative_to(folder): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file()}


def listing(folder):
    """Every file under ``folder`` with its size and modification time (cheaper than :func:`snapshot`)."""
    return {p: (p.stat().st_size, p.stat().st_mtime_ns) for p in sorted(folder.rglob("*"))}


def call(argv):
    try:
        return main(argv)
    except SystemExit as exit:
        return exit.code


CLI = [  # (argv, expected message after "python -m companion COMMAND: error: ")
    ([], "the following arguments are required: command"),
    (["frobnicate"], "argument command: invalid choice: 'frobnicate'"),
    (["bench", "--runs", "0"], "argument --runs: must be an integer from 1 to 1,000, got '0'"),
    (["bench", "--runs", "-1"], "argument --runs: must be an integer from 1 to 1,000, got '-1'"),
    (["bench", "--runs", "1e20"], "argument --runs: must be an integer from 1 to 1,000, got '1e20'"),
    (["bench", "--runs", "99999999999999999999"], "argument --runs: must be an integer from 1 to 1,000, got '9+'"),
    (["bench", "--runs", "1.5"], "argument --runs: must be an integer from 1 to 1,000, got '1.5'"),
    (["bench", "--runs", "two"], "argument --runs: must be an integer from 1 to 1,000, got 'two'"),
    (["bench", "--runs", "²"], "argument --runs: must be an integer from 1 to 1,000, got '²'"),
    (["bench", "--runs", ""], "argument --runs: must be an integer from 1 to 1,000, got ''"),
    (["bench", "--learners", "chess"], "argument --learners: invalid choice: 'chess'"),
    (["bench", "--json", ""], "argument --json: must be a path, got ''"),
    (["bench", "--json", "{root}"], "--json must be a file path, got '.*results', which is a folder"),
    (["bench", "--json", f"{UNWRITABLE}/bench.json"], "--json must be a path in a folder this user can write"),
    (["bench", "--json", "{root}/no/such/folder/bench.json"], "--json must be a path in a folder this user can write"),
    (["list", "--jobs", "0"], "argument --jobs: must be an integer from 1 to 1,024, got '0'"),
    (["list", "--jobs", "1e20"], "argument --jobs: must be an integer from 1 to 1,024, got '1e20'"),
    (["list", "--jobs", "500000"], "argument --jobs: must be an integer from 1 to 1,024, got '500000'"),
    (["list", "--jobs", "nan"], "argument --jobs: must be an integer from 1 to 1,024, got 'nan'"),
    (["list", "--root", ""], "argument --root: must be a path, got ''"),
    (["list", "--root", " "], "argument --root: must be a path, got ' '"),
    (["list", "--root", "{file}"], "root must be a folder, got '.*file', which is a file"),
    (["list", "--root", "{root}/missing"], "root must be a readable results folder, got .* which does not exist"),
    (["list", "--verbose"], "unrecognized arguments: --verbose"),
    (["reproduce"], "reproduce needs experiment names or --all"),
    (["reproduce", "--all", NAME], f"give experiment names or --all, not both \\(got --all and {NAME}\\)"),
    (["reproduce", NAME, NAME], f"names must not repeat, got '{NAME}' 2 times"),
    (["reproduce", "map_cartpol"], "experiment name must be one of the .* got 'map_cartpol'; did you mean map_cartpole"),
    (["reproduce", "chess"], "experiment name must be one of the [0-9]+ names .* got 'chess'$"),
    (["reproduce", NAME, "--runs", "0"], "argument --runs: must be an integer from 1 to 1,000, got '0'"),
    (["reproduce", NAME, "--runs", "99999999999999999999"], "argument --runs: must be an integer from 1 to 1,000"),
    (["reproduce", NAME, "--runs", "True"], "argument --runs: must be an integer from 1 to 1,000, got 'True'"),
    (["reproduce", NAME, "--episodes", "1000000000000"], "argument --episodes: must be an integer from 1 to 1,000,000"),
    (["reproduce", NAME, "--episodes", "0"], "argument --episodes: must be an integer from 1 to 1,000,000, got '0'"),
    (["reproduce", NAME, "--episodes", "inf"], "argument --episodes: must be an integer from 1 to 1,000,000, got 'inf'"),
    (["reproduce", NAME, "--runs", "1000", "--episodes", "1000000"], "runs x episodes must be at most 100,000,000"),
    (["reproduce", NAME, "--jobs", "1e20"], "argument --jobs: must be an integer from 1 to 1,024, got '1e20'"),
    (["reproduce", NAME, "--jobs", "-3"], "argument --jobs: must be an integer from 1 to 1,024, got '-3'"),
    (["reproduce", NAME, "--root", ""], "argument --root: must be a path, got ''"),
    (["reproduce", NAME, "--root", "{file}"], "root must be a folder, got '.*file', which is a file"),
    (["reproduce", NAME, "--root", "{file}/sub"], "root must be a folder this user can write, got .* is a file"),
    (["reproduce", NAME, "--root", UNWRITABLE], "root must be a folder this user can write, got '/sys/companion"),
    (["reproduce", NAME, "--force", "--force2"], "unrecognized arguments: --force2"),
    (["verify", "chess"], "experiment name must be one of the .* got 'chess'"),
    (["verify", "map_cartpole"], "no stored result for 'map_cartpole' in .*: run `python -m companion reproduce"),
    (["verify", NAME, NAME], f"names must not repeat, got '{NAME}' 2 times"),
    (["verify", "--root", ""], "argument --root: must be a path, got ''"),
    (["verify", "--root", "{file}"], "root must be a folder, got '.*file', which is a file"),
    (["verify", "--root", "{root}/missing"], "root must be a readable results folder, got .* which does not exist"),
    (["verify", "--root", "{root}/partial"], "--root '.*partial' holds no stored result to verify"),
    (["verify", "--jobs", "2"], "unrecognized arguments: --jobs$"),
]


@pytest.mark.parametrize("argv, message", CLI, ids=[" ".join(a) or "nothing" for a, _ in CLI])
def test_cli_bad_input_is_one_line_with_status_2_and_changes_nothing(argv, message, root, capsys):
    (root / "partial").mkdir(exist_ok=True)
    before = snapshot(root.parent)
    argv = [a.replace("{root}", str(root)).replace("{file}", str(root.parent / "file")) for a in argv]
    assert call(argv + (["--root", str(root)] if argv[:1] in (["list"], ["reproduce"], ["verify"]) and
                        "--root" not in argv else [])) == 2
    out, err = capsys.readouterr()
    assert out == "" and err.count("\n") == 1, err
    command = argv[0] if argv and argv[0] in ("bench", "list", "reproduce", "verify") else ""
    assert re.match(f"python -m companion( {command})?: error: {message}", err), err
    assert snapshot(root.parent) == before


def edit_meta(**changes):
    def edit(meta):
        meta = dict(meta, **{k: v for k, v in changes.items() if v is not DELETE})
        return {k: v for k, v in meta.items() if changes.get(k) is not DELETE}
    return edit


DELETE = object()
STORE = [  # (how the stored result is damaged, what the message says)
    ("json", lambda m: "{not json", "cannot be read \\(Expecting property name"),
    ("json", lambda m: "", "cannot be read \\(Expecting value"),
    ("json", lambda m: [m], "the metadata should be a JSON object, got a list"),
    ("json", lambda m: 3, "the metadata should be a JSON object, got a int"),
    ("json", edit_meta(runs=DELETE), "the metadata has no 'runs'"),
    ("json", edit_meta(wall_time_s=DELETE), "the metadata has no 'wall_time_s'"),
    ("json", edit_meta(config=DELETE), "the metadata has no 'config'"),
    ("json", edit_meta(runs="2"), "'runs' should be of type int, got '2'"),
    ("json", edit_meta(runs=True), "'runs' should be of type int, got True"),
    ("json", edit_meta(runs=2.0), "'runs' should be of type int, got 2.0"),
    ("json", edit_meta(runs=0), "runs, length and wall_time_s should be positive, got 0"),
    ("json", edit_meta(runs=3), "returns should be floats of shape \\(3, 3\\), got float64 \\(2, 3\\)"),
    ("json", edit_meta(length=-1), "runs, length and wall_time_s should be positive, got 2, -1"),
    ("json", edit_meta(wall_time_s=NAN), "runs, length and wall_time_s should be positive, got 2, 3, nan"),
    ("json", edit_meta(wall_time_s=-5), "runs, length and wall_time_s should be positive, got 2, 3, -5"),
    ("json", edit_meta(wall_time_s="fast"), "'wall_time_s' should be of type int or float, got 'fast'"),
    ("json", edit_meta(name="map_cartpole"), "it names the experiment 'map_cartpole' .*, not 'reinforce_multiplexer'"),
    ("json", lambda m: {**m, "config": {**m["config"], "seed": 1}}, "its stored config hashes to .* \\(edited\\)"),
    ("json", lambda m: {**m, "config": {**m["config"], "params": {**m["config"]["params"], "lr": [1, 1, 1]}}},
     "its stored config hashes to .*, not to its stored .* \\(edited\\)"),
    ("json", edit_meta(config_hash="0" * 16), "its stored config hashes to .*, not to its stored 0+ \\(edited\\)"),
    ("json", edit_meta(paper_scale=True), "paper_scale is True for 2 runs x 3 episodes"),
    ("json", edit_meta(paper_scale="no"), "'paper_scale' should be of type bool, got 'no'"),
    ("json", edit_meta(environment="CartPole-v1"), "environment 'CartPole-v1' is not the config's task"),
    ("json", edit_meta(group_seeds=[]), "group_seeds should hold one seed per group of 10 runs, got 0"),
    ("json", edit_meta(commit=7), "'commit' should be of type list or str, got 7"),
    ("json", edit_meta(versions=[]), "'versions' should be of type dict, got \\[\\]"),
    ("json", edit_meta(arrays_sha256="0" * 16), "the arrays' checksum is .*, not the stored 0+ \\(edited\\)"),
    ("json", edit_meta(arrays_sha256=5), "'arrays_sha256' should be a string, got 5"),
    ("npz", lambda a: {"returns": np.where(np.eye(2, 3, dtype=bool), NAN, a["returns"])},
     "returns hold 2 non-finite value\\(s\\)"),
    ("npz", lambda a: {"returns": np.full((2, 3), NAN)}, "returns hold 6 non-finite value\\(s\\)"),
    ("npz", lambda a: {"returns": a["returns"] * INF}, "returns hold 6 non-finite value\\(s\\)"),
    ("npz", lambda a: {"returns": a["returns"][:, :2]}, "returns should be floats of shape \\(2, 3\\), got .*\\(2, 2\\)"),
    ("npz", lambda a: {"returns": a["returns"].astype(int)}, "returns should be floats of shape \\(2, 3\\), got int64"),
    ("npz", lambda a: {"other": a["returns"]}, "returns should be floats of shape \\(2, 3\\), got none"),
    ("npz", lambda a: {**a, "states": np.ones((2, 1, 4, 2))}, "the arrays' checksum is"),
    ("npz", lambda a: {**a, "states": np.ones((2, 4, 2))}, "states should be floats of shape \\(2, episodes,"),
    ("npz", lambda a: {**a, "states": np.array([1.0, NAN, 1.0, NAN])[None, None, :, None].repeat(2, 0)},
     "states hold non-finite values other than the NaN rows that pad a recorded episode"),
    ("npz", lambda a: {**a, "states": np.array([[1.0, 1.0], [1.0, NAN]])[None, None].repeat(2, 0)},
     "states hold non-finite values other than the NaN rows"),
    ("npz", lambda a: {**a, "states": np.array([[1.0, 1.0], [INF, INF]])[None, None].repeat(2, 0)},
     "states hold non-finite values other than the NaN rows"),
    ("bytes", lambda b: b"not a zip file", "cannot be read"),
    ("bytes", lambda b: b"", "cannot be read"),
    ("bytes", lambda b: b[: len(b) // 2], "cannot be read"),
]


def damage(root, kind, change):
    npz, meta_path = store.result_paths(NAME, root)
    if kind == "json":
        meta = change(json.loads(meta_path.read_text()))
        meta_path.write_text(meta if isinstance(meta, str) else json.dumps(meta))
    elif kind == "npz":
        np.savez(npz, **change(store.load_arrays(npz)))
    else:
        npz.write_bytes(change(npz.read_bytes()))


@pytest.mark.parametrize("kind, change, message", STORE, ids=[f"{k}-{i}" for i, (k, *_) in enumerate(STORE)])
def test_a_damaged_result_is_refused_by_name_by_load_list_and_verify(kind, change, message, root, capsys):
    damage(root, kind, change)
    before = snapshot(root)
    with pytest.raises(store.StaleResult) as err:
        store.load_result(NAME, experiments.get(NAME).config_hash(), root)
    text = str(err.value)
    assert "\n" not in text and re.search(message, text), text
    assert str(root / NAME) in text and text.endswith(f"run `python -m companion reproduce {NAME}`")
    assert call(["verify", "--root", str(root)]) == 1
    out = capsys.readouterr().out
    assert re.search(f"^{NAME}: FAILED: .*{message}", out, re.M) and out.endswith("verified 0 of 1 stored results; 1 FAILED\n")
    assert call(["list", "--root", str(root), "--jobs", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(f"^{NAME} .* INVALID, see verify$", out, re.M) and "stored and valid: 0 of" in out
    assert max(map(len, out.splitlines())) <= 120
    assert snapshot(root) == before


def net():
    return init_network([3, 4, 2], [Normal("softplus", 0.5), Softmax(1.0)], runs=2, seed=0)


def config(**changes):
    return ActorCriticConfig(**{**dict(actor_lrs=[1e-3] * 2, critic_lrs=[1e-3] * 2, actor_lambda=0.5,
                                       critic_lambda=0.5), **changes})


STATE = torch.zeros(2, 5, 3, dtype=torch.float64)
API = [  # (call, expected message)
    (lambda: Normal("softplus", NAN), "var must be a positive finite number, got nan"),
    (lambda: Normal("softplus", INF), "var must be a positive finite number, got inf"),
    (lambda: Normal("softplus", True), "var must be a positive finite number, got True"),
    (lambda: Normal("softplus", "1"), "var must be a positive finite number, got '1'"),
    (lambda: Normal("softplus", torch.tensor([1.0, 2.0])), "var must be a positive finite number, got tensor"),
    (lambda: Normal(None), "activation must be one of .* got None"),
    (lambda: Softmax(-1), "temperature must be a positive finite number, got -1"),
    (lambda: Softmax(np.float32(NAN)), "temperature must be a positive finite number, got .*nan"),
    (lambda: init_network([5], [], 2, 0), "sizes must list at least two positive integers, got \\[5\\]"),
    (lambda: init_network([5, 0], [Bernoulli()], 2, 0), "sizes must list at least two positive integers, got \\[5, 0\\]"),
    (lambda: init_network([5, 2.5], [Bernoulli()], 2, 0), "sizes must list at least two positive integers"),
    (lambda: init_network(5, [Bernoulli()], 2, 0), "sizes must list at least two positive integers, got 5"),
    (lambda: init_network([5, 2], [Bernoulli()] * 2, 2, 0), "units must give one unit family per layer \\(1\\)"),
    (lambda: init_network([5, 2], ["bernoulli"], 2, 0), "units must give one unit family per layer \\(1\\)"),
    (lambda: init_network([5, 2], [Bernoulli()], 0, 0), "runs must be an integer at least 1, got 0"),
    (lambda: init_network([5, 2], [Bernoulli()], True, 0), "runs must be an integer at least 1, got True"),
    (lambda: init_network([5, 2], [Bernoulli()], 2.0, 0), "runs must be an integer at least 1, got 2.0"),
    (lambda: init_network([5, 2], [Bernoulli()], 2, -1), "seed must be an integer at least 0, got -1"),
    (lambda: init_network([5, 2], [Bernoulli()], 2, 0, bias_range=NAN), "bias_range must be a finite number at least 0"),
    (lambda: init_network([5, 2], [Bernoulli()], 2, 0, bias_range=-1), "bias_range must be a finite number at least 0"),
    (lambda: sample(net(), STATE[:, :, :2]), "state must have shape \\(runs=2, batch, 3\\), got \\(2, 5, 2\\)"),
    (lambda: sample(net(), STATE[0]), "state must have shape \\(runs=2, batch, 3\\), got \\(5, 3\\)"),
    (lambda: sample(net(), STATE.tolist()), "state must be a tensor or numpy array of numbers, got list"),
    (lambda: sample(net(), STATE > 0), "state must be a tensor or numpy array of numbers, got Tensor torch.bool"),
    (lambda: sample(net(), np.full((2, 5, 3), "a")), "state must be a tensor or numpy array of numbers"),
    (lambda: sample(net(), STATE + NAN), "state must be finite, got NaN or infinite entries"),
    (lambda: sample(net(), STATE + INF), "state must be finite, got NaN or infinite entries"),
    (lambda: sample_exploring_some(net(), STATE, NAN), "explore must be a finite number in \\(0, 1\\], got nan"),
    (lambda: sample_exploring_some(net(), STATE, 0), "explore must be a finite number in \\(0, 1\\], got 0"),
    (lambda: action_probs(net(), STATE, samples=0), "samples must be an integer at least 1, got 0"),
    (lambda: Adam([STATE], betas=(1.0, 0.9)), "betas must be a finite number in \\[0, 1\\), got 1.0"),
    (lambda: Adam([STATE], betas=0.9), "betas must be two numbers in \\[0, 1\\), got 0.9"),
    (lambda: Adam([STATE], eps=0), "eps must be a finite number above 0, got 0"),
    (lambda: Adam([STATE], eps=NAN), "eps must be a finite number above 0, got nan"),
    (lambda: Adam([]), "params must be a non-empty list of tensors with a runs axis, got \\[\\]"),
    (lambda: LinearSchedule(NAN), "start must be a finite number at least 0, got nan"),
    (lambda: LinearSchedule(-1e-3), "start must be a finite number at least 0, got -0.001"),
    (lambda: LinearSchedule(1e-3, INF), "end must be a finite number at least 0, got inf"),
    (lambda: LinearSchedule(1e-3, 0, -1), "duration must be an integer at least 0, got -1"),
    (lambda: LinearSchedule(1e-3, 0, 1.5), "duration must be an integer at least 0, got 1.5"),
    (lambda: LinearSchedule("fast"), "start must be a finite number at least 0, got 'fast'"),
    (lambda: Multiplexer(0), "k \\(address bits\\) must be an integer from 1 to 6, got 0"),
    (lambda: Multiplexer(2.0), "k \\(address bits\\) must be an integer from 1 to 6, got 2.0"),
    (lambda: Multiplexer(True), "k \\(address bits\\) must be an integer from 1 to 6, got True"),
    (lambda: Multiplexer(2).sample(0, 4), "runs must be an integer at least 1, got 0"),
    (lambda: Regression(0), "n_inputs must be an integer at least 1, got 0"),
    (lambda: Regression(8, seed=-2), "seed must be an integer at least 0, got -2"),
    (lambda: Regression(8).sample(2, 1.5), "batch must be an integer at least 1, got 1.5"),
    (lambda: RunEnvs("NoSuchEnv-v0", 1, 0), "env_id must name a gymnasium environment, got 'NoSuchEnv-v0'"),
    (lambda: RunEnvs(None, 1, 0), "env_id must name a gymnasium environment, got None"),
    (lambda: RunEnvs("CartPole-v1", 0, 0), "runs must be an integer from 1 to 10,000, got 0"),
    (lambda: RunEnvs("CartPole-v1", 1, 0, reward_clip=NAN), "reward_clip must be a positive finite number, got nan"),
    (lambda: train_single_step(net(), Multiplexer(1), "chess", 2, 4, [1e-3] * 2), "learner must be one of .*'chess'"),
    (lambda: train_single_step(net(), Multiplexer(1), "reinforce", 0, 4, [1e-3] * 2), "episodes must be an integer at"),
    (lambda: train_single_step(net(), Multiplexer(1), "reinforce", NAN, 4, [1e-3] * 2), "episodes must be an integer"),
    (lambda: train_single_step(net(), Multiplexer(1), "reinforce", 2, True, [1e-3] * 2), "batch_size must be an integ"),
    (lambda: train_single_step(net(), Multiplexer(1), "reinforce", 2, 4, [1e-3]), "lrs must give one rate per layer"),
    (lambda: train_single_step(net(), Multiplexer(1), "reinforce", 2, 4, 1e-3), "lrs must give one rate per layer"),
    (lambda: train_single_step(net(), Multiplexer(1), "reinforce", 2, 4, [NAN] * 2), "start must be a finite number"),
    (lambda: train_single_step(net(), Multiplexer(1), "reinforce", 2, 4, [1e-3] * 2, seed=-1), "seed must be an"),
    (lambda: train_single_step(net(), Multiplexer(1), "map_propagation", 2, 4, [1e-3] * 2, settle_steps=-1),
     "settle_steps must be an integer at least 0, got -1"),
    (lambda: train_single_step(net(), Multiplexer(1), "reinforce", 2, 4, [1e-3] * 2, explore=0),
     "explore must be a finite number in \\(0, 1\\], got 0"),
    (lambda: train_single_step(net(), Multiplexer(1), "reinforce", 2, 4, [1e-3] * 2, explore=[0.5, 0.5, 0.5]),
     "explore \\(probability that a hidden unit explores\\) must lie in \\(0, 1\\], as a number or one per run"),
    (lambda: train_single_step(net(), Multiplexer(1), "backprop", 2, 4, [1e-3] * 2, explore=0.5),
     "explore must be 1 with learner 'backprop' \\(only 'reinforce' explores partly\\), got 0.5"),
    (lambda: config(gamma=1.5), "gamma must be a finite number in \\[0, 1\\], got 1.5"),
    (lambda: config(gamma=NAN), "gamma must be a finite number in \\[0, 1\\], got nan"),
    (lambda: config(actor_lambda=-0.1), "actor_lambda must be a finite number in \\[0, 1\\], got -0.1"),
    (lambda: config(critic_lambda="0.9"), "critic_lambda must be a finite number in \\[0, 1\\], got '0.9'"),
    (lambda: config(explore=0), "explore must be a finite number in \\(0, 1\\], got 0"),
    (lambda: config(settle_steps=-1), "settle_steps must be an integer at least 0, got -1"),
    (lambda: config(actor_kind="chess"), "actor_kind must be one of .*'chess'"),
    (lambda: train_actor_critic(net(), net(), None, 0, config()), "episodes must be an integer at least 1, got 0"),
    (lambda: train_actor_critic(net(), net(), None, 2, config(), max_env_steps=0), "max_env_steps must be an integer"),
    (lambda: controller.check_eps(0.5), "eps \\(flip probability\\) must be a finite number in \\[0, 0.5\\), got 0.5"),
    (lambda: controller.check_eps(NAN), "eps \\(flip probability\\) must be a finite number in \\[0, 0.5\\), got nan"),
    (lambda: controller.train_faulty_controller(2, 0.1, "pressed", 2, 4, 0.1, runs=0), "runs must be an integer at"),
    (lambda: controller.train_faulty_controller(2, 0.1, "pressed", 2, 4, NAN, runs=1), "lr must be a finite number"),
    (lambda: controller.train_faulty_controller(2, 0.1, "chess", 2, 4, 0.1, runs=1), "mode must be one of .*'chess'"),
    (lambda: theory.check_chunks(10, 3), "samples must be a positive multiple of chunk=3, got 10"),
    (lambda: theory.check_chunks(10, 0), "chunk must be an integer at least 1, got 0"),
    (lambda: settle(net(), sample(net(), STATE), -1), "settle_steps must be an integer at least 0, got -1"),
    (lambda: settle(net(), sample(net(), STATE), 1.5), "settle_steps must be an integer at least 0, got 1.5"),
    (lambda: reproduce.reproduce(NAME), f"names must be a non-empty list of experiment names, got '{NAME}'"),
    (lambda: reproduce.reproduce([]), "names must be a non-empty list of experiment names, got \\[\\]"),
    (lambda: reproduce.reproduce([1]), "names must hold experiment names \\(strings\\), got 1"),
    (lambda: reproduce.reproduce([NAME], runs=True), "runs must be an integer from 1 to 1,000, got True"),
    (lambda: reproduce.reproduce([NAME], episodes=2.5), "episodes must be an integer from 1 to 1,000,000, got 2.5"),
    (lambda: reproduce.reproduce([NAME], jobs=1.5), "jobs must be an integer from 1 to 1,024, got 1.5"),
    (lambda: reproduce.reproduce([NAME], root=""), "root must be the path of a results folder, got ''"),
    (lambda: reproduce.reproduce([NAME], root=3), "root must be the path of a results folder, got 3"),
    (lambda: reproduce.verify("chess"), "experiment name must be one of the"),
    (lambda: reproduce.verify(NAME, root=None), "root must be the path of a results folder, got None"),
    (lambda: reproduce.parallel_wall_time([1.0], 0), "jobs must be an integer from 1 to 1,024, got 0"),
]


@pytest.mark.parametrize("bad, message", API, ids=[f"api-{i}" for i in range(len(API))])
def test_public_functions_name_the_bad_argument(bad, message):
    before = listing(store.RESULTS)
    with pytest.raises(ValueError) as err:
        bad()
    assert "\n" not in str(err.value) and re.match(message, str(err.value)), str(err.value)
    assert listing(store.RESULTS) == before


def test_the_tables_hold_at_least_100_bad_inputs():
    assert len(CLI) + len(STORE) + len(API) >= 100


def test_numpy_scalars_and_arrays_of_the_right_kind_are_accepted():
    assert Softmax(np.float32(0.5)).temperature == 0.5 and Normal("relu", np.float64(0.3)).var == 0.3
    small = init_network(np.array([3, 4, 2]), [Normal("softplus", 0.5), Softmax(1.0)], runs=np.int64(2),
                         seed=np.int32(0), bias_range=np.float32(0.1))
    state = np.zeros((2, 5, 3), dtype=np.float32)
    values = sample(small, state)
    assert values[0].dtype == torch.float64 and values[-1].shape == (2, 5, 2)
    assert Multiplexer(np.int64(2)).n_inputs == 6 and LinearSchedule(np.float32(0.5), 0, np.int64(10))(5) == 0.25
    assert config(gamma=np.float32(0.5), settle_steps=np.int64(3)).settle_steps == 3


def test_single_step_training_stops_on_non_finite_numbers_naming_the_runs_and_batch():
    regression = init_network([8, 4, 1], [Normal("softplus", 0.5), Normal("linear", 0.5)], runs=2, seed=0)
    with pytest.raises(FloatingPointError, match=r"non-finite weights or rewards in run\(s\) \[0, 1\] .* update \d+$"):
        train_single_step(regression, Regression(8), "backprop_sl", 200, 16, [1e300, 1e300])


def test_a_diverging_experiment_is_reported_by_name_and_the_others_are_stored(tmp_path, monkeypatch, capsys):
    real = reproduce.run_group

    def diverging(exp, first, *args, **kwargs):
        if exp.name == "backprop_multiplexer":
            raise FloatingPointError(f"experiment {exp.name}, runs {first}-{first + 1}: non-finite weights")
        return real(exp, first, *args, **kwargs)
    monkeypatch.setattr(reproduce, "run_group", diverging)
    argv = ["reproduce", "backprop_multiplexer", NAME, "--runs", "2", "--episodes", "2", "--root", str(tmp_path),
            "--jobs", "1"]  # in this process, where run_group is patched
    assert call(argv) == 1
    err = capsys.readouterr().err.splitlines()
    assert err == ["python -m companion reproduce: failed: experiment backprop_multiplexer, runs 0-1: non-finite weights",
                   "python -m companion reproduce: 1 group(s) failed; 1 result(s) stored"]
    assert store.result_paths(NAME, tmp_path)[0].exists()
    assert not store.result_paths("backprop_multiplexer", tmp_path)[0].exists()


def test_a_non_finite_result_is_never_written(tmp_path, monkeypatch):
    monkeypatch.setattr(reproduce, "run_group", lambda exp, first, runs, episodes, **k: {
        "returns": np.full((runs, episodes), math.nan)})
    with pytest.raises(reproduce.Failed, match="returns hold 4 non-finite value"):
        reproduce.reproduce([NAME], runs=2, episodes=2, root=tmp_path, progress=False)
    assert not list(tmp_path.rglob("*.npz"))


def test_ctrl_c_ends_with_one_line_saying_what_was_kept(tmp_path, monkeypatch, capsys):
    real = reproduce.run_group

    def interrupted(exp, first, *args, **kwargs):
        if first:
            raise KeyboardInterrupt
        return real(exp, first, *args, **kwargs)
    monkeypatch.setattr(reproduce, "run_group", interrupted)
    assert call(["reproduce", NAME, "--runs", "12", "--episodes", "2", "--root", str(tmp_path), "--jobs", "1"]) == 130
    err = capsys.readouterr().err
    assert err == (f"python -m companion reproduce: interrupted; stored results are kept and 1 finished group(s) are "
                   f"checkpointed in {tmp_path / 'partial'}; run the same command again to resume\n")
    assert not (tmp_path / store.LOCK).exists()


def test_bench_json_is_checked_before_the_measurement(tmp_path, monkeypatch, capsys):
    from companion import bench
    monkeypatch.setattr(bench, "run_bench", lambda *a: pytest.fail("measured before checking --json"))
    assert call(["bench", "--runs", "1", "--json", str(tmp_path)]) == 2
    assert "which is a folder" in capsys.readouterr().err
