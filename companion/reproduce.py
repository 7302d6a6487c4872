"""Run registry experiments into the results store, resumably and in parallel; replay stored ones.

Each experiment is split into groups of runs (``Experiment.group``). A group is an independent
job: :func:`reproduce` hands the missing groups to ``joblib.Parallel``, so they spread over the
machine's cores, or over a cluster with any joblib backend (for example dask's:
``with joblib.parallel_config(backend="dask"): reproduce(...)``). A finished group is checkpointed at
once; an interrupted call loses only the groups in flight and the next call resumes.
"""
from __future__ import annotations

import heapq
import json
import time
from datetime import datetime, timezone

import joblib
import numpy as np
from tqdm.auto import tqdm

from . import store
from .experiments import Experiment, get
from .runner import group_seed, run_group

REPLAY = {"actor_critic": 3, "single_step": 20}  # episodes / batches replayed by verify


def _check_jobs(jobs):
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"jobs must be a positive integer, got {jobs!r}")


def _check_override(name: str, value, what: str):
    if value is not None and (not isinstance(value, int) or value < 1):
        raise ValueError(f"{what} must be a positive integer or None, got {value!r} (experiment {name})")


def _run_and_checkpoint(exp: Experiment, first: int, runs: int, length: int, root, compile: bool, progress: bool):
    bar = tqdm(total=runs * length, desc=f"{exp.name} runs {first}-{first + runs - 1}", disable=not progress,
               unit="ep" if exp.kind == "actor_critic" else "batch", leave=False)
    start = time.perf_counter()
    arrays = run_group(exp, first, runs, length, on_episode=bar.update, compiled=compile)
    bar.close()
    arrays["wall_time"] = np.array(time.perf_counter() - start)
    arrays["config_hash"] = np.array(exp.config_hash())
    arrays["commit"] = np.array(store.commit())
    store.save_arrays(store.checkpoint_path(exp.name, first, runs, length, root), arrays)
    return exp


def _finished(exp, first, runs, length, root) -> bool:
    path = store.checkpoint_path(exp.name, first, runs, length, root)
    if not path.exists():
        return False
    try:
        return str(store.load_arrays(path)["config_hash"]) == exp.config_hash()
    except (store.StaleResult, KeyError):
        return False  # unreadable or from another config: run the group again


def reproduce(names, runs=None, length=None, jobs: int = 1, root=store.RESULTS, compile: bool = True,
              progress: bool = True) -> list:
    """Run the missing groups of every named experiment, then store each complete result.

    ``runs`` / ``length`` override the paper's numbers (the result is then marked as not paper
    scale and may not replace a paper-scale one). Returns the paths of the stored results.
    """
    _check_jobs(jobs)
    exps = [get(name) for name in names]
    for exp in exps:
        _check_override(exp.name, runs, "runs")
        _check_override(exp.name, length, "length")
        paper = runs in (None, exp.runs) and length in (None, exp.episodes)
        npz, meta = store.result_paths(exp.name, root)
        if not paper and meta.exists() and json.loads(meta.read_text()).get("paper_scale"):
            raise ValueError(f"{exp.name}: a paper-scale result is stored in {root}; write a smaller one elsewhere "
                             "(--root) instead of replacing it")
    todo = [(exp, first, n, length or exp.episodes) for exp in exps for first, n in exp.groups(runs)
            if not _finished(exp, first, n, length or exp.episodes, root)]
    # results are assembled as soon as their last group is done, not when the whole call ends
    open_groups = {exp.name: sum(1 for e, *_ in todo if e is exp) for exp in exps}
    paths = {exp.name: _assemble(exp, runs or exp.runs, length or exp.episodes, root)
             for exp in exps if open_groups[exp.name] == 0}
    calls = (joblib.delayed(_run_and_checkpoint)(exp, first, n, ln, root, compile, progress) for exp, first, n, ln in todo)
    for exp in joblib.Parallel(n_jobs=jobs, return_as="generator")(calls):
        open_groups[exp.name] -= 1
        if open_groups[exp.name] == 0:
            paths[exp.name] = _assemble(exp, runs or exp.runs, length or exp.episodes, root)
    return [paths[exp.name] for exp in exps]


def parallel_wall_time(seconds, jobs: int) -> float:
    """Wall time of independent groups that take ``seconds`` each when handed out in order to
    ``jobs`` workers, each to the first worker that is free (as ``joblib.Parallel`` dispatches)."""
    _check_jobs(jobs)
    free = [0.0] * jobs  # when each worker is next free
    for s in seconds:
        heapq.heapreplace(free, free[0] + s)
    return max(free)


def _assemble(exp: Experiment, runs: int, length: int, root):
    """Join the checkpoints of every group into ``NAME.npz`` + ``NAME.json``; remove the checkpoints."""
    groups = exp.groups(runs)
    parts = [store.load_arrays(store.checkpoint_path(exp.name, first, n, length, root)) for first, n in groups]
    arrays = {key: np.concatenate([p[key] for p in parts]) for key in parts[0] if parts[0][key].ndim >= 1}
    npz, meta_path = store.result_paths(exp.name, root)
    meta = {
        "name": exp.name, "config": exp.config(), "config_hash": exp.config_hash(), "runs": runs, "length": length,
        "paper_scale": runs == exp.runs and length == exp.episodes, "environment": exp.task,
        "group_seeds": [group_seed(exp, first) for first, _ in groups],
        "wall_time_s": round(sum(float(p["wall_time"]) for p in parts), 1),
        "versions": store.versions(),
        "commit": sorted({str(p["commit"]) for p in parts if "commit" in p} or {store.commit()}),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    store.save_arrays(npz, arrays)
    store.save_json(meta_path, meta)
    for first, n in groups:
        store.checkpoint_path(exp.name, first, n, length, root).unlink()
    return npz


def verify(name: str, root=store.RESULTS) -> dict:
    """Check a stored result against the registry and replay the beginning of its first group.

    The replay must match the stored returns on most entries (benign floating-point noise
    across CPUs may flip a rare sampled action); a changed rule, setting or seed changes
    nearly all of them. Returns ``{"name", "replayed", "matching"}``.
    """
    exp = get(name)
    arrays, meta = store.load_result(name, exp.config_hash(), root)
    first, n = exp.groups(meta["runs"])[0]
    k = min(REPLAY[exp.kind], meta["length"])
    replay = run_group(exp, first, n, k, compiled=False)["returns"]
    stored = arrays["returns"][first:first + n, :k]
    matching = float(np.isclose(replay, stored, rtol=1e-6, atol=1e-9).mean())
    if matching < 0.8:
        raise store.StaleResult(f"{name}: only {matching:.0%} of the first {k} returns of runs {first}-{first + n - 1} "
                                f"replay (a rule, setting or seed changed): run `python -m companion reproduce {name}`")
    return {"name": name, "replayed": int(replay.size), "matching": matching}
