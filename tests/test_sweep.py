"""Sweep runner: grid, random streams, executors agree, resume after interruption, bad input."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest

from sensing import SweepResult, TrialRngs, grid, load_results, run_sweep, trial_rngs


# Tasks are module-level so that spawned processes and dask workers can import them.
def estimate_task(point, rngs):
    """A toy estimation: a 'channel' from the realisation stream, noise from the noise stream."""
    truth = rngs.realisation.uniform(-1.0, 1.0)
    sigma = 10 ** (-point["snr_db"] / 20)
    est = truth + sigma * rngs.noise.standard_normal()
    return {"error": est - truth, "truth": truth, "label": "toy", "ok": bool(abs(est - truth) < 1)}


def stream_task(point, rngs):
    """Reports the first draws of both streams (to compare across points and trials)."""
    return {"real": float(rngs.realisation.random()), "noise": float(rngs.noise.random()),
            "t": rngs.trial, "p": rngs.point_index}


def counting_task(point, rngs):
    """Appends one line per call to a counter file, and fails at a chosen (point, trial)."""
    with open(point["counter"], "a") as fh:
        fh.write(f"{rngs.point_index},{rngs.trial}\n")
    if rngs.trial == point.get("fail_trial", -1) and rngs.point_index == 1:
        raise KeyboardInterrupt if point["fail_kind"] == "interrupt" else RuntimeError("boom")
    return {"value": float(rngs.noise.random())}


def bad_output_task(point, rngs):
    return {"snr_db": 1.0}


def _calls(counter):
    with open(counter) as fh:
        return [tuple(map(int, line.split(","))) for line in fh if line.strip()]


POINTS = grid(snr_db=[-10.0, 0.0, 10.0])


def test_grid_is_cartesian_product_first_axis_slowest():
    g = grid(snr_db=np.array([0.0, 10.0]), n_targets=[1, 2, 3], method=("music",))
    assert len(g) == 6
    assert g[0] == {"snr_db": 0.0, "n_targets": 1, "method": "music"}
    assert g[3] == {"snr_db": 10.0, "n_targets": 1, "method": "music"}
    assert all(type(p["snr_db"]) is float and type(p["n_targets"]) is int for p in g)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({}, ValueError, "at least one parameter"),
    ({"snr_db": []}, ValueError, "`snr_db` must hold at least one value"),
    ({"snr_db": [0.0, float("nan")]}, ValueError, "`snr_db` must be finite"),
    ({"snr_db": 3.0}, TypeError, "`snr_db` must be an iterable"),
    ({"snr_db": [[1.0]]}, TypeError, "`snr_db` must be a scalar"),
    ({"trial": [1]}, ValueError, "`trial` is reserved"),
])
def test_grid_rejects_bad_axes(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        grid(**kwargs)


def test_streams_follow_spawn_keys():
    r = trial_rngs(7, 3, 2)
    assert isinstance(r, TrialRngs) and (r.trial, r.point_index) == (3, 2)
    # SPEC 7: children of SeedSequence(7) by spawn key, never seed arithmetic
    trial_ss = np.random.SeedSequence(7).spawn(4)[3]
    real_ss, noise_parent = trial_ss.spawn(2)
    noise_ss = noise_parent.spawn(3)[2]
    assert r.realisation.random() == np.random.default_rng(real_ss).random()
    assert r.noise.random() == np.random.default_rng(noise_ss).random()


def test_realisation_shared_across_points_noise_distinct(tmp_path):
    res = run_sweep(stream_task, grid(snr_db=[0.0, 5.0, 10.0, 15.0]), n_trials=3, seed=11,
                    results_path=tmp_path / "r.jsonl", executor="serial", progress=False)
    real = res.column("real").reshape(4, 3)    # records sorted by (point_index, trial)
    noise = res.column("noise").reshape(4, 3)
    assert np.all(real == real[0])             # same realisation for every point of a trial
    assert len(np.unique(real[0])) == 3        # ...but a new one per trial
    assert len(np.unique(noise)) == 12         # noise unique to (trial, point)
    assert np.array_equal(res.column("t"), res.column("trial"))
    assert np.array_equal(res.column("p"), res.column("point_index"))


def test_records_file_and_result(tmp_path):
    path = tmp_path / "r.jsonl"
    res = run_sweep(estimate_task, POINTS, n_trials=4, seed=1, results_path=path, executor="serial",
                    progress=False, fingerprint="toy-v1")
    assert isinstance(res, SweepResult) and res.n_new == 12 and res.n_resumed == 0 and res.path == path
    assert [(r["point_index"], r["trial"]) for r in res.records] == [(p, t) for p in range(3) for t in range(4)]
    lines = path.read_text().splitlines()
    header = json.loads(lines[0])
    assert header["fingerprint"] == "toy-v1" and header["seed"] == 1 and header["n_trials"] == 4
    assert header["points"] == POINTS and len(lines) == 13
    rec = json.loads(lines[1])
    assert set(rec) == {"point_index", "trial", "snr_db", "error", "truth", "label", "ok"}
    # trial-major order on disk: every point of trial 0 first
    assert [json.loads(x)["trial"] for x in lines[1:4]] == [0, 0, 0]
    # aggregates: RMSE of the error falls with SNR as 10**(-snr/20)
    r = res.aggregate("error", reduce="rmse")
    assert r.shape == (3,) and r[0] > r[1] > r[2]
    np.testing.assert_allclose(res.aggregate("error", reduce="count"), [4, 4, 4])
    np.testing.assert_allclose(res.aggregate("error", by="snr_db", reduce="rmse"), r)
    np.testing.assert_array_equal(res.keys("snr_db"), [-10.0, 0.0, 10.0])
    assert res.column("label").dtype.kind == "U"
    loaded = load_results(path)
    assert loaded.records == res.records and loaded.points == res.points and loaded.n_resumed == 12


def test_aggregate_and_column_errors(tmp_path):
    res = run_sweep(estimate_task, POINTS, n_trials=2, seed=1, results_path=tmp_path / "r.jsonl",
                    executor="serial", progress=False)
    with pytest.raises(ValueError, match="`name` 'nope' is missing from 6 of 6 records; available: "):
        res.column("nope")
    with pytest.raises(ValueError, match="`reduce` must be one of"):
        res.aggregate("error", reduce="mode")
    with pytest.raises(TypeError, match="must be a numeric column"):
        res.aggregate("label")


def test_executors_give_identical_records(tmp_path):
    kw = dict(n_trials=3, seed=5, progress=False, fingerprint="same")
    serial = run_sweep(estimate_task, POINTS, results_path=tmp_path / "s.jsonl", executor="serial", **kw)
    procs = run_sweep(estimate_task, POINTS, results_path=tmp_path / "p.jsonl", executor="processes",
                      workers=2, **kw)
    assert procs.records == serial.records
    other_seed = run_sweep(estimate_task, POINTS, results_path=tmp_path / "o.jsonl", executor="serial",
                           **{**kw, "seed": 6})
    assert other_seed.records != serial.records


def test_dask_local_cluster_matches_serial(tmp_path):
    pytest.importorskip("distributed")
    kw = dict(n_trials=2, seed=5, progress=False, fingerprint="same")
    serial = run_sweep(estimate_task, POINTS, results_path=tmp_path / "s.jsonl", executor="serial", **kw)
    # a LocalCluster started and closed by run_sweep (threads keep the test fast on 2 cores)
    dask_res = run_sweep(estimate_task, POINTS, results_path=tmp_path / "d.jsonl", executor="dask",
                         workers=2, cluster_kwargs={"processes": False}, **kw)
    assert dask_res.records == serial.records


def test_dask_external_client_interruption_and_address(tmp_path):
    distributed = pytest.importorskip("distributed")
    counter = tmp_path / "calls.txt"
    points = [{"counter": str(counter), "fail_trial": 1, "fail_kind": "error", "k": k} for k in range(3)]
    path = tmp_path / "d.jsonl"
    kw = dict(n_trials=3, seed=0, results_path=path, executor="dask", progress=False, fingerprint="h")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        with pytest.raises(RuntimeError, match="boom"):
            run_sweep(counting_task, points, scheduler=client, **kw)
        assert client.status == "running"  # an external client is left open
        done = {(r["point_index"], r["trial"]) for r in load_results(path).records}
        assert (1, 1) not in done and (0, 0) in done
        n_calls = len(_calls(counter))
        # resume through the scheduler's address, as `--scheduler tcp://host:port` does
        res = run_sweep(_never_fail_task, points, scheduler=cluster.scheduler_address, resume=True, **kw)
        assert res.n_resumed == len(done) and res.n_new == 9 - len(done) and len(res.records) == 9
        # nothing already on disk was recomputed (a trial cancelled while running may have been
        # called twice: it was never recorded)
        assert set(_calls(counter)[n_calls:]) == {(p, t) for p in range(3) for t in range(3)} - done
        with pytest.raises(ValueError, match="belongs to a different sweep"):  # points changed
            run_sweep(counting_task, [dict(p, fail_trial=-1) for p in points], scheduler=client,
                      resume=True, **kw)


def test_resume_after_interrupt_redoes_nothing_serial(tmp_path):
    counter = tmp_path / "calls.txt"
    path = tmp_path / "r.jsonl"
    points = [{"counter": str(counter), "fail_trial": 2, "fail_kind": "interrupt", "k": k} for k in range(3)]
    with pytest.raises(KeyboardInterrupt):
        run_sweep(counting_task, points, n_trials=4, seed=3, results_path=path, executor="serial",
                  progress=False, fingerprint="f")
    first = load_results(path)
    # trials 0, 1 of every point, then (0, 2) finished before the interrupt at (1, 2)
    assert [(r["point_index"], r["trial"]) for r in first.records] == \
        [(0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (2, 0), (2, 1)]
    with pytest.raises(FileExistsError, match="pass --resume .* or choose another --out"):
        run_sweep(counting_task, points, n_trials=4, seed=3, results_path=path, executor="serial",
                  progress=False, fingerprint="f")
    # resume with the same grid and fingerprint; the "fixed" task no longer fails
    os.replace(counter, tmp_path / "first_calls.txt")
    res = run_sweep(_never_fail_task, points, n_trials=4, seed=3, results_path=path, resume=True,
                    executor="serial", progress=False, fingerprint="f")
    assert res.n_resumed == 7 and res.n_new == 5
    assert [(r["point_index"], r["trial"]) for r in res.records] == [(p, t) for p in range(3) for t in range(4)]
    redone = _calls(counter)
    assert sorted(redone) == sorted({(p, t) for p in range(3) for t in range(4)} -
                                    {(r["point_index"], r["trial"]) for r in first.records})
    # resuming a complete sweep redoes nothing
    again = run_sweep(_never_fail_task, points, n_trials=4, seed=3, results_path=path, resume=True,
                      executor="serial", progress=False, fingerprint="f")
    assert again.n_new == 0 and again.n_resumed == 12 and len(_calls(counter)) == 5
    # and the result equals an uninterrupted sweep
    clean = run_sweep(_never_fail_task, points, n_trials=4, seed=3, results_path=tmp_path / "c.jsonl",
                      executor="serial", progress=False, fingerprint="f")
    assert [r["value"] for r in res.records] == [r["value"] for r in clean.records]


def _never_fail_task(point, rngs):
    return counting_task(dict(point, fail_trial=-1), rngs)


def test_resume_after_worker_error_with_processes(tmp_path):
    counter = tmp_path / "calls.txt"
    path = tmp_path / "r.jsonl"
    points = [{"counter": str(counter), "fail_trial": 1, "fail_kind": "error", "k": k} for k in range(2)]
    with pytest.raises(RuntimeError, match="boom") as info:
        run_sweep(counting_task, points, n_trials=3, seed=2, results_path=path, executor="processes",
                  workers=2, progress=False, fingerprint="g")
    assert any("point_index=1" in n for n in getattr(info.value, "__notes__", []))
    before = {(r["point_index"], r["trial"]) for r in load_results(path).records}
    assert (1, 1) not in before and (0, 0) in before
    calls_before = len(_calls(counter))
    res = run_sweep(_never_fail_task, points, n_trials=3, seed=2, results_path=path, resume=True,
                    executor="processes", workers=2, progress=False, fingerprint="g")
    new = _calls(counter)[calls_before:]
    assert sorted(new) == sorted({(p, t) for p in range(2) for t in range(3)} - before)
    assert res.n_new == len(new) and len(res.records) == 6


def test_resume_ignores_truncated_last_line(tmp_path):
    path = tmp_path / "r.jsonl"
    full = run_sweep(estimate_task, POINTS, n_trials=3, seed=9, results_path=path, executor="serial",
                     progress=False)
    text = path.read_text()
    lines = text.splitlines(keepends=True)
    # keep header + 4 records and half of the 5th (a crash mid-write)
    path.write_text("".join(lines[:5]) + lines[5][: len(lines[5]) // 2])
    assert len(load_results(path).records) == 4
    res = run_sweep(estimate_task, POINTS, n_trials=3, seed=9, results_path=path, resume=True,
                    executor="serial", progress=False)
    assert res.n_resumed == 4 and res.n_new == 5 and res.records == full.records
    assert all(json.loads(x) for x in path.read_text().splitlines())  # file is clean JSON Lines again


def test_resume_extends_trials(tmp_path):
    path = tmp_path / "r.jsonl"
    run_sweep(estimate_task, POINTS, n_trials=2, seed=4, results_path=path, executor="serial", progress=False)
    more = run_sweep(estimate_task, POINTS, n_trials=3, seed=4, results_path=path, resume=True,
                     executor="serial", progress=False)
    full = run_sweep(estimate_task, POINTS, n_trials=3, seed=4, results_path=tmp_path / "f.jsonl",
                     executor="serial", progress=False)
    assert more.n_new == 3 and more.records == full.records


def test_resume_refuses_a_different_sweep(tmp_path):
    path = tmp_path / "r.jsonl"
    run_sweep(estimate_task, POINTS, n_trials=2, seed=4, results_path=path, executor="serial", progress=False)
    base = dict(n_trials=2, results_path=path, resume=True, executor="serial", progress=False)
    with pytest.raises(ValueError, match="different sweep .*seed: file 4 vs now 5"):
        run_sweep(estimate_task, POINTS, seed=5, **base)
    with pytest.raises(ValueError, match="different sweep .*points"):
        run_sweep(estimate_task, grid(snr_db=[0.0]), seed=4, **base)
    with pytest.raises(ValueError, match="different sweep .*fingerprint"):
        run_sweep(stream_task, POINTS, seed=4, **base)
    (tmp_path / "junk.jsonl").write_text('{"a": 1}\n')
    with pytest.raises(ValueError, match="not a subspace-sensing sweep file"):
        run_sweep(estimate_task, POINTS, seed=4, **{**base, "results_path": tmp_path / "junk.jsonl"})


def test_progress_bar_starts_at_done_trials(tmp_path, capsys):
    path = tmp_path / "r.jsonl"
    run_sweep(estimate_task, POINTS, n_trials=2, seed=4, results_path=path, executor="serial", progress=False)
    run_sweep(estimate_task, POINTS, n_trials=3, seed=4, results_path=path, resume=True, executor="serial",
              progress=True, desc="toy")
    err = capsys.readouterr().err
    assert "toy" in err and "6/9" in err and "9/9" in err


def test_bad_task_output(tmp_path):
    with pytest.raises(ValueError, match="output key 'snr_db' clashes"):
        run_sweep(bad_output_task, POINTS, n_trials=1, seed=0, results_path=tmp_path / "r.jsonl",
                  executor="serial", progress=False)


@pytest.mark.parametrize("kwargs, exc, match", [
    ({"task": 3}, TypeError, "`task` must be a callable"),
    ({"points": []}, ValueError, "`points` must hold at least one grid point"),
    ({"points": {"snr_db": 1.0}}, TypeError, "`points` must be a sequence of dicts"),
    ({"points": [{"snr_db": float("inf")}]}, ValueError, "must be finite"),
    ({"points": [{"trial": 1}]}, ValueError, "reserved key 'trial'"),
    ({"n_trials": 0}, ValueError, "`n_trials` must be an integer >= 1"),
    ({"n_trials": 2.0}, TypeError, "`n_trials` must be an integer"),
    ({"seed": -3}, ValueError, "`seed` must be a non-negative integer"),
    ({"executor": "threads"}, ValueError, "`executor` must be one of"),
    ({"workers": 0}, ValueError, "`workers` must be an integer >= 1"),
    ({"resume": "yes"}, TypeError, "`resume` must be True or False"),
    ({"fingerprint": 3}, TypeError, "`fingerprint` must be a str"),
    ({"scheduler": "tcp://x:1"}, ValueError, "`scheduler` is used only with executor='dask'"),
    ({"task": lambda p, r: {}, "workers": 2}, TypeError, "`task` must be a module-level function"),
])
def test_run_sweep_rejects_bad_arguments(tmp_path, kwargs, exc, match):
    args = dict(task=estimate_task, points=POINTS, n_trials=1, seed=0, results_path=tmp_path / "r.jsonl",
                executor="processes", progress=False)
    args.update(kwargs)
    with pytest.raises(exc, match=match):
        run_sweep(args.pop("task"), args.pop("points"), **args)
    assert not (tmp_path / "r.jsonl").exists()


def test_missing_folder_and_results_file(tmp_path):
    with pytest.raises(ValueError, match="`results_path` folder .* does not exist"):
        run_sweep(estimate_task, POINTS, n_trials=1, seed=0, results_path=tmp_path / "no" / "r.jsonl",
                  progress=False)
    with pytest.raises(ValueError, match="does not exist"):
        load_results(tmp_path / "none.jsonl")


def pid_task(point, rngs):
    return {"pid": os.getpid()}


def test_processes_run_outside_this_process(tmp_path):
    res = run_sweep(pid_task, POINTS, n_trials=2, seed=0, results_path=tmp_path / "r.jsonl",
                    executor="processes", workers=2, progress=False)
    assert os.getpid() not in set(res.column("pid").tolist())
    res1 = run_sweep(pid_task, POINTS, n_trials=1, seed=0, results_path=tmp_path / "s.jsonl",
                     executor="processes", workers=1, progress=False)  # workers=1: in-process
    assert set(res1.column("pid").tolist()) == {os.getpid()}


def test_dask_process_cluster(tmp_path):
    """A LocalCluster of one worker process: the task travels to another interpreter."""
    pytest.importorskip("distributed")
    res = run_sweep(pid_task, POINTS, n_trials=1, seed=0, results_path=tmp_path / "r.jsonl",
                    executor="dask", scheduler="local", workers=1, progress=False)
    assert len(res.records) == 3 and os.getpid() not in set(res.column("pid").tolist())


# --- first run: the numba compilation is announced once and kept out of the bar's rate ---
def compiling_task(point, rngs):
    """Compiles a fresh numba function on every call (a cold kernel cache, every time)."""
    import numba

    twice = numba.njit(lambda x: 2.0 * x)
    return {"value": float(twice(rngs.noise.random())), "pid": os.getpid()}


def sleeping_task(point, rngs):
    """The first trial of a sweep is slow (like a compilation), the others fast."""
    import time

    time.sleep(1.0 if (rngs.trial, rngs.point_index) == (0, 0) else 0.01)
    return {"value": float(rngs.noise.random())}


@pytest.fixture
def fresh_notice(monkeypatch):
    import sensing._sweep as sweep

    monkeypatch.setattr(sweep, "_compile_notice_shown", False)
    return sweep


def test_compile_notice_once_before_the_bar(tmp_path, capsys, fresh_notice):
    res = run_sweep(compiling_task, POINTS, n_trials=2, seed=0, results_path=tmp_path / "r.jsonl",
                    executor="serial", progress=True, desc="toy")
    err = capsys.readouterr().err
    assert err.count(fresh_notice.COMPILE_NOTICE) == 1
    assert err.index(fresh_notice.COMPILE_NOTICE) < err.index("toy")  # said before the bar starts
    assert "6/6" in err and len(res.records) == 6
    # once per process: a second sweep that compiles again says nothing
    run_sweep(compiling_task, POINTS, n_trials=1, seed=0, results_path=tmp_path / "s.jsonl",
              executor="serial", progress=True)
    assert fresh_notice.COMPILE_NOTICE not in capsys.readouterr().err


def test_no_compile_notice_without_progress_or_without_compilation(tmp_path, capsys, fresh_notice):
    run_sweep(compiling_task, POINTS, n_trials=1, seed=0, results_path=tmp_path / "r.jsonl",
              executor="serial", progress=False)
    assert capsys.readouterr().err == ""
    run_sweep(estimate_task, POINTS, n_trials=1, seed=0, results_path=tmp_path / "s.jsonl",
              executor="serial", progress=True)  # nothing compiles: a warm cache
    assert fresh_notice.COMPILE_NOTICE not in capsys.readouterr().err
    assert fresh_notice._compile_notice_shown is False


def test_compile_notice_from_the_warm_up_worker(tmp_path, capfd, fresh_notice):
    res = run_sweep(compiling_task, POINTS, n_trials=2, seed=0, results_path=tmp_path / "r.jsonl",
                    executor="processes", workers=2, progress=True)
    err = capfd.readouterr().err
    assert err.count(fresh_notice.COMPILE_NOTICE) == 1  # the first trial ran alone, in one worker
    assert os.getpid() not in set(res.column("pid").tolist())
    assert fresh_notice._compile_notice_shown is True


@pytest.mark.parametrize("executor, workers", [("serial", 1), ("processes", 1), ("processes", 2)])
def test_warm_up_keeps_records_order_and_resume(tmp_path, executor, workers):
    """The warm-up trial is the first pending (point, trial): the same records and file lines."""
    ref = run_sweep(stream_task, POINTS, n_trials=2, seed=5, results_path=tmp_path / "ref.jsonl",
                    executor="serial", progress=False)
    path = tmp_path / "r.jsonl"
    run_sweep(stream_task, POINTS, n_trials=1, seed=5, results_path=path, executor=executor,
              workers=workers, progress=False)
    res = run_sweep(stream_task, POINTS, n_trials=2, seed=5, results_path=path, resume=True,
                    executor=executor, workers=workers, progress=False)
    assert res.records == ref.records and res.n_new == 3 and res.n_resumed == 3
    lines = [json.loads(s) for s in path.read_text().splitlines()[1:]]
    got = [(r["point_index"], r["trial"]) for r in lines]
    # each run's warm-up (its first pending trial) is written first; the others in completion order
    assert got[0] == (0, 0) and set(got[1:3]) == {(1, 0), (2, 0)} and got[3] == (0, 1)


def test_warm_up_trial_stays_out_of_the_bar_rate(tmp_path, monkeypatch):
    """A slow first trial (a compilation) does not enter the bar's rate, hence not its ETA."""
    import tqdm.auto

    bars = []

    class Spy(tqdm.auto.tqdm):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            bars.append(self)

        def close(self):
            self.final = dict(self.format_dict)
            super().close()

    monkeypatch.setattr(tqdm.auto, "tqdm", Spy)
    run_sweep(sleeping_task, POINTS, n_trials=4, seed=0, results_path=tmp_path / "r.jsonl",
              executor="serial", progress=True)
    (bar,) = bars
    d = bar.final
    assert d["n"] == 12 and d["initial"] == 1  # 11 timed trials; the warm-up is not among them
    assert d["elapsed"] < 0.9  # the bar started after the slow first trial
