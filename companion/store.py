"""The results store: ``results/NAME.npz`` (arrays) and ``results/NAME.json`` (provenance).

Writes are atomic (a temporary file renamed into place), so an interrupted run never leaves a
half-written result and never replaces a good one, and only finite arrays are ever written.
Finished groups of runs are checkpointed under ``results/partial/`` and picked up by the next
call. Loading checks everything: every metadata field, the stored config's own hash, the
registry's hash, the arrays' shapes, finiteness and (for results stored since it was added)
checksum; anything wrong is refused with a message naming the file and saying what to run.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import platform
import subprocess
import tempfile
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent.parent / "results"
LOCK = ".reproduce.lock"


class StaleResult(RuntimeError):
    """A stored result that no longer matches the registry, or cannot be read."""


class Busy(RuntimeError):
    """Another process is writing into the same results folder."""


def check_root(root, write: bool) -> Path:
    """``root`` as a ``Path`` to a folder that can be read (and, with ``write``, written or created)."""
    if not isinstance(root, (str, os.PathLike)) or not str(root):
        raise ValueError(f"root must be the path of a results folder, got {root!r}")
    root = Path(root)
    if root.exists() and not root.is_dir():
        raise ValueError(f"root must be a folder, got {str(root)!r}, which is a file")
    if not write:
        if not root.is_dir() or not os.access(root, os.R_OK | os.X_OK):
            raise ValueError(f"root must be a readable results folder, got {str(root)!r}, which "
                             f"{'cannot be read' if root.is_dir() else 'does not exist'}")
        return root
    existing = next(p for p in [root, *root.absolute().parents] if p.exists())
    try:
        if not existing.is_dir():
            raise OSError(f"{existing} is a file")
        fd, tmp = tempfile.mkstemp(dir=existing, prefix=".write-test.")
        os.close(fd)
        os.remove(tmp)
    except OSError as err:
        raise ValueError(f"root must be a folder this user can write, got {str(root)!r} ({err})") from None
    return root


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def array_problem(arrays: dict, runs: int, episodes: int) -> str | None:
    """What is wrong with a result's arrays, or ``None``: ``returns`` must be finite, shape
    ``(runs, episodes)``; recorded ``states`` (``(runs, k, T, n_obs)``) must be, in each recorded
    episode, finite rows then rows that are entirely NaN (the padding after the episode ended)."""
    returns = arrays.get("returns")
    if returns is None or returns.shape != (runs, episodes) or returns.dtype.kind != "f":
        got = "none" if returns is None else f"{returns.dtype} {returns.shape}"
        return f"returns should be floats of shape {(runs, episodes)}, got {got}"
    if not np.isfinite(returns).all():
        return f"returns hold {(~np.isfinite(returns)).sum()} non-finite value(s)"
    states = arrays.get("states")
    if states is not None:
        if states.ndim != 4 or states.shape[0] != runs or states.dtype.kind != "f":
            return f"states should be floats of shape ({runs}, episodes, steps, observations), got {states.shape}"
        finite, padding = np.isfinite(states).all(-1), np.isnan(states).all(-1)
        if not (finite | padding).all() or (finite[..., 1:] > finite[..., :-1]).any():
            return "states hold non-finite values other than the NaN rows that pad a recorded episode"
    return None


def arrays_checksum(arrays: dict) -> str:
    """SHA-256 of every array's name, dtype, shape and bytes (in name order), 16 hex digits."""
    digest = hashlib.sha256()
    for key in sorted(arrays):
        a = np.ascontiguousarray(arrays[key])
        digest.update(f"{key}|{a.dtype.str}|{a.shape}|".encode())
        digest.update(a.tobytes())
    return digest.hexdigest()[:16]


def config_hash(config: dict) -> str:
    """SHA-256 of a config's canonical JSON (what ``Experiment.config_hash`` computes)."""
    return hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:16]


def save_arrays(path: Path, arrays: dict) -> None:
    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    _atomic_write(path, write)


def save_json(path: Path, data: dict) -> None:
    _atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n"))


def save_result(name: str, arrays: dict, meta: dict, root: Path = RESULTS) -> Path:
    """Write ``NAME.npz`` and ``NAME.json`` (with the arrays' checksum), refusing non-finite arrays."""
    problem = array_problem(arrays, meta["runs"], meta["length"])
    if problem:
        raise FloatingPointError(f"experiment {name}: {problem}; nothing was stored")
    npz, meta_path = result_paths(name, root)
    save_arrays(npz, arrays)
    save_json(meta_path, {**meta, "arrays_sha256": arrays_checksum(arrays)})
    return npz


def load_arrays(path: Path, advice: str = "delete it and run the experiment again") -> dict:
    try:
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same advice
        raise StaleResult(f"{path} cannot be read ({err}): {advice}") from None


def versions() -> dict:
    import gymnasium
    import torch
    return {"python": platform.python_version(), "numpy": np.__version__, "torch": torch.__version__,
            "gymnasium": gymnasium.__version__}


def commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=RESULTS.parent, capture_output=True, text=True, check=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "companion"], cwd=RESULTS.parent, capture_output=True,
                               text=True, check=True).stdout.strip()
        return out.stdout.strip() + ("+changes" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def result_paths(name: str, root: Path = RESULTS):
    return Path(root) / f"{name}.npz", Path(root) / f"{name}.json"


def checkpoint_path(name: str, first_run: int, runs: int, episodes: int, root: Path = RESULTS) -> Path:
    return Path(root) / "partial" / f"{name}.runs{first_run}-{first_run + runs - 1}.len{episodes}.npz"


META_FIELDS = {"name": str, "config": dict, "config_hash": str, "runs": int, "length": int, "paper_scale": bool,
               "environment": str, "group_seeds": list, "wall_time_s": (int, float), "versions": dict,
               "commit": (list, str), "created": str}  # commit: one string in the oldest results


def meta_problem(meta, name: str) -> str | None:
    """What is wrong with a result's metadata, or ``None``: every field present with its type and
    consistent with the others, and the stored config hashing to the stored hash."""
    if not isinstance(meta, dict):
        return f"the metadata should be a JSON object, got a {type(meta).__name__}"
    for key, kind in META_FIELDS.items():
        if key not in meta:
            return f"the metadata has no {key!r}"
        if not isinstance(meta[key], kind) or (kind is not bool and isinstance(meta[key], bool)):
            kinds = " or ".join(k.__name__ for k in (kind if isinstance(kind, tuple) else (kind,)))
            return f"{key!r} should be of type {kinds}, got {meta[key]!r}"
    config, runs, episodes = meta["config"], meta["runs"], meta["length"]
    if meta["name"] != name or config.get("name") != name:
        return f"it names the experiment {meta['name']!r} (config: {config.get('name')!r}), not {name!r}"
    if config_hash(config) != meta["config_hash"]:
        return f"its stored config hashes to {config_hash(config)}, not to its stored {meta['config_hash']} (edited)"
    if runs < 1 or episodes < 1 or not math.isfinite(meta["wall_time_s"]) or meta["wall_time_s"] < 0:
        return f"runs, length and wall_time_s should be positive, got {runs!r}, {episodes!r}, {meta['wall_time_s']!r}"
    group = config.get("group")
    if not isinstance(group, int) or len(meta["group_seeds"]) != -(-runs // group):
        return f"group_seeds should hold one seed per group of {group!r} runs, got {len(meta['group_seeds'])}"
    if meta["paper_scale"] != (runs == config.get("runs") and episodes == config.get("length")):
        return f"paper_scale is {meta['paper_scale']} for {runs} runs x {episodes} episodes"
    if meta["environment"] != config.get("task"):
        return f"environment {meta['environment']!r} is not the config's task {config.get('task')!r}"
    if not isinstance(meta.get("arrays_sha256", ""), str):
        return f"'arrays_sha256' should be a string, got {meta['arrays_sha256']!r}"
    return None


def load_result(name: str, expected_hash: str, root: Path = RESULTS):
    """``(arrays, meta)`` of a stored result, refusing a stale, corrupted or inconsistent one."""
    npz, meta_path = result_paths(name, root)
    again = f"run `python -m companion reproduce {name}`"
    if not npz.exists() or not meta_path.exists():
        raise FileNotFoundError(f"no stored result for {name!r} in {root}: {again}")
    try:
        meta = json.loads(meta_path.read_text())
    except (OSError, ValueError) as err:
        raise StaleResult(f"{meta_path} cannot be read ({err}): {again}") from None
    problem = meta_problem(meta, name)
    if problem:
        raise StaleResult(f"{meta_path}: {problem}: {again}")
    if meta["config_hash"] != expected_hash:
        raise StaleResult(f"{name}: stored config hash {meta['config_hash']} differs from the registry's "
                          f"{expected_hash} (a setting changed): {again}")
    arrays = load_arrays(npz, again)
    problem = array_problem(arrays, meta["runs"], meta["length"])
    if not problem and "arrays_sha256" in meta and arrays_checksum(arrays) != meta["arrays_sha256"]:
        problem = f"the arrays' checksum is {arrays_checksum(arrays)}, not the stored {meta['arrays_sha256']} (edited)"
    if problem:
        raise StaleResult(f"{npz}: {problem}: {again}")
    return arrays, meta


@contextlib.contextmanager
def lock(root: Path):
    """Hold ``root/.reproduce.lock`` (holding this process's id) while writing into ``root``.

    The lock file is created atomically (a hard link of a complete file, which fails if it
    exists); one left by a process that no longer runs (``kill -9``) is taken over.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    path, mine = root / LOCK, root / f"{LOCK}.{os.getpid()}"
    mine.write_text(f"{os.getpid()}\n")
    try:
        while True:
            try:
                os.link(mine, path)
                break
            except FileExistsError:
                owner = _lock_owner(path)
                if owner is not None and owner > 0 and _running(owner):
                    raise Busy(f"{root} is in use by another reproduce (process {owner}, lock file {path}): wait "
                               "for it to end, or give this one another --root") from None
                path.unlink(missing_ok=True)  # left by a process that is gone
    finally:
        mine.unlink()
    try:
        yield path
    finally:
        path.unlink(missing_ok=True)


def _lock_owner(path: Path) -> int | None:
    try:
        return int(path.read_text())
    except (OSError, ValueError):
        return None


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
