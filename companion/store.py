"""The results store: ``results/NAME.npz`` (arrays) and ``results/NAME.json`` (provenance).

Writes are atomic (a temporary file renamed into place), so an interrupted run never leaves a
half-written result and never replaces a good one. Finished groups of runs are checkpointed
under ``results/partial/`` and picked up by the next call; a checkpoint or result whose
config hash no longer matches the registry is refused with a message saying what to run.
"""
from __future__ import annotations

import json
import os
import platform
import subprocess
import tempfile
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent.parent / "results"


class StaleResult(RuntimeError):
    """A stored result that no longer matches the registry, or cannot be read."""


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


def save_arrays(path: Path, arrays: dict) -> None:
    def write(tmp):
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)
    _atomic_write(path, write)


def save_json(path: Path, data: dict) -> None:
    _atomic_write(path, lambda tmp: Path(tmp).write_text(json.dumps(data, indent=1, sort_keys=True) + "\n"))


def load_arrays(path: Path) -> dict:
    try:
        with np.load(path) as data:
            return {k: data[k] for k in data.files}
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same advice
        raise StaleResult(f"{path} cannot be read ({err}); delete it and run the experiment again") from None


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
    return root / f"{name}.npz", root / f"{name}.json"


def checkpoint_path(name: str, first_run: int, runs: int, length: int, root: Path = RESULTS) -> Path:
    return root / "partial" / f"{name}.runs{first_run}-{first_run + runs - 1}.len{length}.npz"


def load_result(name: str, expected_hash: str, root: Path = RESULTS):
    """``(arrays, meta)`` of a stored result, refusing a stale or unreadable one."""
    npz, meta_path = result_paths(name, root)
    if not npz.exists() or not meta_path.exists():
        raise FileNotFoundError(f"no stored result for {name!r} in {root}: run `python -m companion reproduce {name}`")
    try:
        meta = json.loads(meta_path.read_text())
    except ValueError as err:
        raise StaleResult(f"{meta_path} is corrupted ({err}): run `python -m companion reproduce {name}`") from None
    if meta.get("config_hash") != expected_hash:
        raise StaleResult(f"{name}: stored config hash {meta.get('config_hash')} differs from the registry's "
                          f"{expected_hash} (a setting changed): run `python -m companion reproduce {name}`")
    arrays = load_arrays(npz)
    shape = (meta["runs"], meta["length"])
    if arrays.get("returns") is None or arrays["returns"].shape != shape:
        raise StaleResult(f"{npz}: returns should have shape {shape}: run `python -m companion reproduce {name}`")
    return arrays, meta
