"""Resume across experiments after SIGKILL, skipping what is stored, and one writer per results folder."""
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from companion import reproduce, store
from companion.__main__ import main

A, B = "reinforce_multiplexer", "backprop_multiplexer"  # groups of 10 runs: 12 runs are two groups each
SCALE = dict(runs=12, episodes=50)


def record_groups(monkeypatch) -> list:
    """Patch the group runner of this process to record ``(experiment, first run)`` of every group it runs."""
    calls, real = [], reproduce.run_group
    monkeypatch.setattr(reproduce, "run_group",
                        lambda exp, first, *a, **k: calls.append((exp.name, first)) or real(exp, first, *a, **k))
    return calls


def test_sigkill_during_the_second_experiment_loses_only_its_group_in_flight(tmp_path, monkeypatch):
    root = tmp_path / "interrupted"
    argv = [sys.executable, "-m", "companion", "reproduce", A, B, "--runs", "12", "--episodes", "50", "--root",
            str(root), "--jobs", "1", "--no-compile"]
    proc = subprocess.Popen(argv, cwd=Path(__file__).parent.parent, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    first_of_b = store.checkpoint_path(B, 0, 10, 50, root)
    while not first_of_b.exists() and proc.poll() is None:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read().decode()
    assert store.result_paths(A, root)[0].exists() and not store.result_paths(B, root)[0].exists()
    assert (root / store.LOCK).exists()  # left by the killed process, taken over below
    stored_a = store.result_paths(A, root)[0].read_bytes()

    calls = record_groups(monkeypatch)
    reproduce.reproduce([A, B], root=root, jobs=1, compiled=False, progress=False, **SCALE)
    assert calls == [(B, 10)]  # A was stored and B's first group checkpointed: only B's second group is computed
    assert store.result_paths(A, root)[0].read_bytes() == stored_a
    assert not list((root / "partial").iterdir()) and not (root / store.LOCK).exists()

    whole = tmp_path / "uninterrupted"
    reproduce.reproduce([A, B], root=whole, jobs=1, compiled=False, progress=False, **SCALE)
    for name in (A, B):
        resumed, direct = (store.load_arrays(store.result_paths(name, r)[0]) for r in (root, whole))
        assert resumed.keys() == direct.keys() and all(np.array_equal(resumed[k], direct[k]) for k in direct)


def test_a_stored_result_is_skipped_unless_forced_or_of_another_scale(tmp_path, monkeypatch, capsys):
    small = dict(runs=2, episodes=2, compiled=False, progress=False)
    (path,) = reproduce.reproduce([A], root=tmp_path, **small)
    before = path.read_bytes()
    calls = record_groups(monkeypatch)
    assert reproduce.reproduce([A], root=tmp_path, **small) == [path] and calls == []
    assert path.read_bytes() == before
    reproduce.reproduce([A], root=tmp_path, force=True, **small)
    assert calls == [(A, 0)]
    reproduce.reproduce([A], root=tmp_path, runs=2, episodes=3, compiled=False, progress=False)
    assert calls == [(A, 0), (A, 0)] and store.load_arrays(path)["returns"].shape == (2, 3)


def test_joblib_never_starts_more_workers_than_groups(tmp_path, monkeypatch):
    workers = []
    real = reproduce.joblib.Parallel
    monkeypatch.setattr(reproduce.joblib, "Parallel", lambda n_jobs, **k: workers.append(n_jobs) or real(n_jobs, **k))
    reproduce.reproduce([A], root=tmp_path, runs=2, episodes=2, jobs=500, compiled=False, progress=False)
    assert workers == [1]


def test_a_second_run_on_the_same_folder_fails_at_once_and_a_dead_owner_is_taken_over(tmp_path, monkeypatch, capsys):
    lock = tmp_path / store.LOCK
    lock.write_text(f"{os.getpid()}\n")  # a running process holds the folder
    calls = record_groups(monkeypatch)
    argv = ["reproduce", A, "--runs", "2", "--episodes", "2", "--root", str(tmp_path), "--jobs", "1"]
    assert main(argv) == 2 and calls == []
    assert capsys.readouterr().err == (f"python -m companion reproduce: error: {tmp_path} is in use by another "
                                       f"reproduce (process {os.getpid()}, lock file {lock}): wait for it to end, "
                                       "or give this one another --root\n")
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    lock.write_text(gone.stdout)  # its process has ended
    assert main(argv) == 0 and calls == [(A, 0)] and not lock.exists()


@pytest.mark.parametrize("content", ["", "not a pid\n", "-1\n"])
def test_an_unreadable_lock_is_taken_over(content, tmp_path):
    (tmp_path / store.LOCK).write_text(content)
    with store.lock(tmp_path) as held:
        assert held.read_text() == f"{os.getpid()}\n"
        with pytest.raises(store.Busy, match="is in use by another reproduce"):
            with store.lock(tmp_path):
                pass
    assert not held.exists() and list(tmp_path.iterdir()) == []
