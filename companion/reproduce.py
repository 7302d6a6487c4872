"""Run registry experiments into the results store, resumably and in parallel; replay stored ones.

Each experiment is split into groups of runs (``Experiment.group``). A group is an independent
job: :func:`reproduce` hands the missing groups to ``joblib.Parallel``, so they spread over the
machine's cores, or over a cluster with any joblib backend (for example dask's:
``with joblib.parallel_config(backend="dask"): reproduce(...)``). A finished group is checkpointed at
once, and an experiment already stored at the requested scale is skipped, so an interrupted call
loses only the groups in flight and the next call resumes. One call at a time writes into a
results folder (``store.lock``).
"""
from __future__ import annotations

import heapq
import json
import os
import time
from datetime import datetime, timezone

import joblib
import numpy as np
from tqdm.auto import tqdm

from . import checks, store
from .experiments import Experiment, get
from .runner import group_seed, run_group

REPLAY = {"actor_critic": 3, "single_step": 20}  # episodes / batches replayed by verify, in every group
MAX_RUNS, MAX_EPISODES, MAX_JOBS = 1_000, 1_000_000, 1_024
MAX_VALUES = 100_000_000  # runs x episodes: the returns alone then take 800 MB
JOBS = os.cpu_count() or 1  # the default number of workers: one per core


class Failed(RuntimeError):
    """Some experiments could not be computed; ``failures`` holds one message each, ``paths``
    the results that were stored."""

    def __init__(self, failures: list, paths: list):
        super().__init__(f"{len(failures)} experiment(s) failed: " + "; ".join(failures))
        self.failures, self.paths = failures, paths


def check_names(names) -> list:
    """Experiment names: a non-empty list of registry names, none repeated."""
    if isinstance(names, str) or not isinstance(names, (list, tuple)) or not names:
        raise ValueError(f"names must be a non-empty list of experiment names, got {names!r}")
    for name in names:
        if not isinstance(name, str):
            raise ValueError(f"names must hold experiment names (strings), got {name!r}")
        get(name)
        if names.count(name) > 1:
            raise ValueError(f"names must not repeat, got {name!r} {names.count(name)} times")
    return list(names)


def check_scale(runs, episodes):
    """``runs`` / ``episodes`` overrides: ``None`` or integers within bounds whose product fits in memory."""
    runs = None if runs is None else checks.integer("runs", runs, 1, MAX_RUNS)
    episodes = None if episodes is None else checks.integer("episodes", episodes, 1, MAX_EPISODES)
    return runs, episodes


def _run_and_checkpoint(exp: Experiment, first: int, runs: int, episodes: int, root, compiled: bool, progress: bool):
    """Run one group and checkpoint it; returns ``(exp, None)``, or ``(exp, message)`` if it diverged."""
    bar = tqdm(total=runs * episodes, desc=f"{exp.name} runs {first}-{first + runs - 1}", leave=False,
               disable=None if progress else True,  # None: shown on a terminal only
               unit="ep" if exp.kind == "actor_critic" else "batch")
    start = time.perf_counter()
    try:
        arrays = run_group(exp, first, runs, episodes, on_episode=bar.update, compiled=compiled)
    except FloatingPointError as err:
        return exp, str(err)
    finally:
        bar.close()
    problem = store.array_problem(arrays, runs, episodes)
    if problem:
        return exp, f"experiment {exp.name}, runs {first}-{first + runs - 1}: {problem}"
    arrays["wall_time"] = np.array(time.perf_counter() - start)
    arrays["config_hash"] = np.array(exp.config_hash())
    arrays["commit"] = np.array(store.commit())
    store.save_arrays(store.checkpoint_path(exp.name, first, runs, episodes, root), arrays)
    return exp, None


def _finished(exp, first, runs, episodes, root) -> bool:
    path = store.checkpoint_path(exp.name, first, runs, episodes, root)
    if not path.exists():
        return False
    try:
        arrays = store.load_arrays(path)
        return str(arrays["config_hash"]) == exp.config_hash() and not store.array_problem(arrays, runs, episodes)
    except (store.StaleResult, KeyError):
        return False  # unreadable, non-finite or from another config: run the group again


def _stored(exp, runs: int, episodes: int, root) -> bool:
    """Whether ``exp`` is stored, valid and current, with ``runs`` x ``episodes``."""
    try:
        _, meta = store.load_result(exp.name, exp.config_hash(), root)
    except (FileNotFoundError, store.StaleResult):
        return False
    return (meta["runs"], meta["length"]) == (runs, episodes)


def _guard_paper_scale(exp, paper: bool, root):
    """Refuse to replace a stored paper-scale result by a smaller one."""
    meta = store.result_paths(exp.name, root)[1]
    try:
        stored = json.loads(meta.read_text()) if meta.exists() else {}
    except (OSError, ValueError):
        stored = {}
    if not paper and isinstance(stored, dict) and stored.get("paper_scale") is True:
        raise ValueError(f"{exp.name}: a paper-scale result is stored in {root}; write a smaller one elsewhere "
                         "(--root) instead of replacing it")


def reproduce(names, runs=None, episodes=None, jobs: int = JOBS, root=store.RESULTS, compiled: bool = True,
              progress: bool = True, force: bool = False) -> list:
    """Run the missing groups of every named experiment, then store each complete result.

    An experiment already stored, valid and current at the requested scale is skipped (``force``
    computes it again, checkpoints included). ``runs`` / ``episodes`` override the paper's numbers
    (the result is then marked as not paper scale and may not replace a paper-scale one). Every
    argument is checked and the folder locked before any compute. A group that diverges does not
    stop the others: once they are stored, :class:`Failed` names what failed. Returns the paths
    of the stored results.
    """
    names = check_names(names)
    runs, episodes = check_scale(runs, episodes)
    jobs = checks.integer("jobs", jobs, 1, MAX_JOBS)
    root = store.check_root(root, write=True)
    exps = [get(name) for name in names]
    for exp in exps:
        _guard_paper_scale(exp, runs in (None, exp.runs) and episodes in (None, exp.episodes), root)
    scale = {exp.name: (runs or exp.runs, episodes or exp.episodes) for exp in exps}
    for name, (r, e) in scale.items():
        if r * e > MAX_VALUES:
            raise ValueError(f"runs x episodes must be at most {MAX_VALUES:,}, got {r} x {e:,} for {name}")
    with store.lock(root):
        paths = {exp.name: store.result_paths(exp.name, root)[0] for exp in exps
                 if not force and _stored(exp, *scale[exp.name], root)}
        todo = [(exp, first, n, scale[exp.name][1]) for exp in exps if exp.name not in paths
                for first, n in exp.groups(runs) if force or not _finished(exp, first, n, scale[exp.name][1], root)]
        # results are assembled as soon as their last group is done, not when the whole call ends
        open_groups = {exp.name: sum(1 for e, *_ in todo if e is exp) for exp in exps if exp.name not in paths}
        paths.update({name: _assemble(get(name), *scale[name], root) for name, n in open_groups.items() if n == 0})
        calls = (joblib.delayed(_run_and_checkpoint)(exp, first, n, eps, root, compiled, progress)
                 for exp, first, n, eps in todo)
        failures = []
        for exp, error in joblib.Parallel(n_jobs=min(jobs, max(len(todo), 1)), return_as="generator")(calls):
            if error:
                failures.append(error)
                continue
            open_groups[exp.name] -= 1
            if open_groups[exp.name] == 0:
                paths[exp.name] = _assemble(exp, *scale[exp.name], root)
    stored = [paths[exp.name] for exp in exps if exp.name in paths]
    if failures:
        raise Failed(failures, stored)
    return stored


def parallel_wall_time(seconds, jobs: int) -> float:
    """Wall time of independent groups that take ``seconds`` each when handed out in order to
    ``jobs`` workers, each to the first worker that is free (as ``joblib.Parallel`` dispatches)."""
    jobs = checks.integer("jobs", jobs, 1, MAX_JOBS)
    free = [0.0] * jobs  # when each worker is next free
    for s in seconds:
        heapq.heapreplace(free, free[0] + s)
    return max(free)


def _assemble(exp: Experiment, runs: int, episodes: int, root):
    """Join the checkpoints of every group into ``NAME.npz`` + ``NAME.json``; remove the checkpoints."""
    groups = exp.groups(runs)
    parts = [store.load_arrays(store.checkpoint_path(exp.name, first, n, episodes, root)) for first, n in groups]
    arrays = {key: np.concatenate([p[key] for p in parts]) for key in parts[0] if parts[0][key].ndim >= 1}
    meta = {
        "name": exp.name, "config": exp.config(), "config_hash": exp.config_hash(), "runs": runs, "length": episodes,
        "paper_scale": runs == exp.runs and episodes == exp.episodes, "environment": exp.task,
        "group_seeds": [group_seed(exp, first) for first, _ in groups],
        "wall_time_s": round(sum(float(p["wall_time"]) for p in parts), 1),
        "versions": store.versions(),
        "commit": sorted({str(p["commit"]) for p in parts if "commit" in p} or {store.commit()}),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    npz = store.save_result(exp.name, arrays, meta, root)
    for first, n in groups:
        store.checkpoint_path(exp.name, first, n, episodes, root).unlink()
    return npz


def verify(name: str, root=store.RESULTS) -> dict:
    """Check a stored result (metadata, hashes, shapes, finiteness, checksum) and replay the
    beginning of every group of runs.

    Each group's replay must match its stored returns on most entries (benign floating-point
    noise across CPUs may flip a rare sampled action); a changed rule, setting or seed changes
    nearly all of them. Returns ``{"name", "replayed", "matching"}`` (over all groups).
    """
    exp = get(name)
    root = store.check_root(root, write=False)
    arrays, meta = store.load_result(name, exp.config_hash(), root)
    k = min(REPLAY[exp.kind], meta["length"])
    replayed = matched = 0
    for first, n in exp.groups(meta["runs"]):
        replay = run_group(exp, first, n, k, compiled=False)["returns"]
        same = np.isclose(replay, arrays["returns"][first:first + n, :k], rtol=1e-6, atol=1e-9)
        if same.mean() < 0.8:
            raise store.StaleResult(f"{name}: only {same.mean():.0%} of the first {k} returns of runs {first}-"
                                    f"{first + n - 1} replay (a rule, setting or seed changed): run "
                                    f"`python -m companion reproduce {name}`")
        replayed, matched = replayed + same.size, matched + same.sum()
    return {"name": name, "replayed": int(replayed), "matching": float(matched / replayed)}
