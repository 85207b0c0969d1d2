"""Data-parallel training on torch.distributed (gloo on the CPU), spawned by the tests."""

from __future__ import annotations

import dataclasses
import faulthandler
import json
import os
import subprocess
import sys

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

import smoothgrid as sg
from smoothgrid.problems import make
from smoothgrid.train.distributed import World, stream_seed
from smoothgrid.train.loop import Loop
from smoothgrid.train.losses import Objective
from smoothgrid.train.settings import Points

pytestmark = pytest.mark.skipif(not dist.is_available(), reason="torch.distributed missing")


def tiny_field(seed: int = 0) -> sg.Field:
    torch.manual_seed(seed)
    enc = sg.encodings.make("hermite", dim=2, levels=3, features=2, min_res=4, max_res=16,
                            log2_table=10)  # fmt: skip
    return sg.Field(enc, hidden=(8,), out=1)


def problem():
    return dataclasses.replace(make("poisson2d", a2=2), test_resolution=16)


def _init(rank: int, size: int, store: str) -> None:
    faulthandler.enable()  # a C++ abort (SIGABRT) prints where each thread was
    dist.init_process_group("gloo", init_method=f"file://{store}", rank=rank, world_size=size)
    torch.set_num_threads(1)


def _leave() -> None:
    """Leave the group together, then exit without the interpreter's finalisation: gloo's
    teardown at interpreter exit aborted a spawned process now and then (SIGABRT,
    "terminate called without an active exception") after every file had been written."""
    dist.barrier()
    dist.destroy_process_group()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def _gradient_worker(rank: int, size: int, store: str, out: str, points: Points) -> None:
    """One step's loss and gradient on this process's share, then the all-reduce."""
    _init(rank, size, store)
    prob, field = problem(), tiny_field().double()  # float64: the sums' order hardly matters
    field.set_bounds(*prob.domain.bounds)
    field.constraint = prob.constraint
    objective = Objective(prob, field, points, dtype=torch.float64, share=size, rank=rank)
    samples = objective.sample(torch.Generator().manual_seed(stream_seed(5, rank)))
    loss, _ = objective.loss_and_terms(samples)
    loss.backward()
    mean = World(rank, size).average_gradients(list(field.parameters()), float(loss.detach()))
    if rank == 0:
        torch.save({"loss": mean, "grads": [p.grad for p in field.parameters()]}, out)
    _leave()


# random points, and a Gauss rule of 9^2 = 81 points that two processes split 41 + 40
RULE = Points(batch=100, boundary_batch=16, quadrature=3)


@pytest.mark.parametrize("points", [Points(batch=64, boundary_batch=16), RULE])
def test_two_processes_average_to_the_gradient_of_the_combined_batch(tmp_path, points):
    out = tmp_path / "grads.pt"
    mp.spawn(_gradient_worker, args=(2, str(tmp_path / "store"), str(out), points), nprocs=2)
    parallel = torch.load(out)
    # one process on the union of both processes' points (the whole rule, its own weights)
    prob, field = problem(), tiny_field().double()
    field.set_bounds(*prob.domain.bounds)
    field.constraint = prob.constraint
    shares = [Objective(prob, field, points, dtype=torch.float64, share=2, rank=r).sample(
        torch.Generator().manual_seed(stream_seed(5, r))) for r in (0, 1)]  # fmt: skip
    combined = {
        term: {k: torch.cat([s[term][k] for s in shares]) for k in shares[0][term]}
        for term in shares[0]
    }
    objective = Objective(prob, field, points, dtype=torch.float64)
    if points.quadrature:
        rule = objective.sample(torch.Generator())["residual"]
        assert torch.equal(combined["residual"]["x"], rule["x"])
        combined["residual"] = rule
    loss, _ = objective.loss_and_terms(combined)
    loss.backward()
    assert parallel["loss"] == pytest.approx(float(loss.detach()), rel=1e-10)
    for mine, theirs in zip([p.grad for p in field.parameters()], parallel["grads"]):
        assert torch.allclose(mine, theirs, rtol=1e-10, atol=1e-12)


def _stop_at(stop: int) -> None:
    """Patch ``Loop._interrupted`` as if Ctrl-C came during step ``stop`` (every rank)."""
    original = Loop._interrupted

    def interrupted(loop: Loop) -> bool:
        return original(loop) or loop.state.step + 1 >= stop

    Loop._interrupted = interrupted


def _solve_worker(rank: int, size: int, store: str, out: str, stop: int, resume: bool) -> None:
    _init(rank, size, store)
    if stop:
        _stop_at(stop)
    try:
        sg.solve(problem(), tiny_field(), steps=24, batch=128, checkpoint_every=8, eval_every=8,
                 out=out, resume=resume, progress=False)  # fmt: skip
    except KeyboardInterrupt:
        pass
    _leave()


def _final(out) -> dict:
    tensors = torch.load(os.path.join(out, "checkpoint.pt"), weights_only=True)
    return {k: v for k, v in tensors.items() if k.startswith("field.")}


def test_interrupted_two_process_run_resumes_exactly(tmp_path):
    whole, split = str(tmp_path / "whole"), str(tmp_path / "split")
    mp.spawn(_solve_worker, args=(2, str(tmp_path / "s1"), whole, 0, False), nprocs=2)
    mp.spawn(_solve_worker, args=(2, str(tmp_path / "s2"), split, 13, False), nprocs=2)
    assert json.loads(open(os.path.join(split, "checkpoint.json")).read())["step"] == 13
    mp.spawn(_solve_worker, args=(2, str(tmp_path / "s3"), split, 0, True), nprocs=2)
    a, b = _final(whole), _final(split)
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    # a different number of processes cannot resume it
    with pytest.raises(sg.train.CheckpointError, match="2 processes"):
        sg.solve(problem(), tiny_field(), steps=30, batch=128, out=split, resume=True,
                 progress=False)  # fmt: skip


@pytest.mark.slow
def test_torchrun_matches_one_process_with_the_combined_batch(tmp_path):
    """``torchrun --nproc-per-node 2 -m smoothgrid solve``: the same error as one process
    drawing both processes' points, up to the sampling noise of different points."""
    args = ["-m", "smoothgrid", "solve", "poisson2d", "--steps", "150", "--no-progress",
            "--set", "batch=512", "--set", "problem.a2=2", "--set", "encoding.levels=4",
            "--set", "encoding.max_res=32", "--set", "field.hidden=[16]"]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    two = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2",
         "--master-port", "29533", *args, "--out", str(tmp_path / "two")],
        capture_output=True, text=True, timeout=600, env=env,
    )  # fmt: skip
    assert two.returncode == 0, two.stderr[-2000:]
    assert two.stdout.count("poisson2d: done") == 1  # process 0 alone reports
    one = subprocess.run([sys.executable, *args, "--out", str(tmp_path / "one")],
                         capture_output=True, text=True, timeout=600, env=env)  # fmt: skip
    assert one.returncode == 0, one.stderr[-2000:]
    e2, e1 = (json.loads((tmp_path / d / "metrics.json").read_text())["rel_l2"]
              for d in ("two", "one"))  # fmt: skip
    assert e1 < 0.2  # it trained
    assert abs(e2 - e1) / e1 < 0.25  # different points, same statistics (measured: see docs)
