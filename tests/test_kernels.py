"""Fused Triton kernels against the PyTorch reference path: jets, table gradients, dispatch.

Without a GPU the kernels run in Triton's interpreter (``TRITON_INTERPRET=1``, set by
conftest.py), so these tests check the same kernel code the GPU compiles, on small sizes.
"""

from __future__ import annotations

import pytest
import torch

import smoothgrid as sg
from smoothgrid import kernels

pytest.importorskip("triton")

DEVICE = "cuda" if torch.cuda.is_available() else "cpu"
TOL = 1e-5  # relative to the largest entry, float32 kernel vs float64 reference

# (encoding, dim, options, order, hessian): dense and hashed levels (log2_table 6 hashes the
# finer levels), per-level offsets, periodic axes, Laplacian and Hessian jets.
CASES = [
    ("hermite", 2, {}, 2, False),
    ("hermite", 2, {"offset": True}, 2, True),
    ("hermite", 2, {"periodic": (0,)}, 1, False),
    ("hermite", 3, {}, 2, False),
    ("hermite", 1, {}, 2, True),
    ("quintic", 3, {"offset": True}, 2, True),
    ("quintic", 2, {"periodic": (1,)}, 2, False),
    ("cosine", 2, {}, 2, True),
    ("smoothstep", 3, {"periodic": (0, 2)}, 1, False),
    ("linear", 2, {"offset": True}, 1, False),
    ("linear", 3, {}, 0, False),
]


def _pair(name: str, dim: int, gen: torch.Generator, **options):
    """A float64 PyTorch-path encoding and a float32 kernel twin with the same O(1) table."""
    kwargs = dict(
        levels=3,
        features=2,
        min_res=3,
        max_res=12,
        log2_table=6,
        bounds=([-1.0] * dim, [2.0] * dim),
    )
    kwargs.update(options)
    reference = sg.encodings.make(name, dim, impl="torch", **kwargs).double().to(DEVICE)
    kernel = sg.encodings.make(name, dim, impl="triton", **kwargs).to(DEVICE)
    with torch.no_grad():
        table = torch.rand(reference.tables[0].shape, generator=gen, dtype=torch.float64) * 2 - 1
        reference.tables[0].copy_(table)
        kernel.tables[0].copy_(table)
    return reference, kernel


def _components(jet: sg.Jet, order: int, hessian: bool) -> list[torch.Tensor]:
    parts = [jet.value]
    if order >= 1:
        parts.append(jet.grad)
    if order == 2:
        parts.append(jet.hess if hessian else jet.lap)
    return parts


def _rel(actual: torch.Tensor, expected: torch.Tensor) -> float:
    scale = expected.abs().max().clamp_min(1e-30)
    return ((actual.double() - expected).abs().max() / scale).item()


@pytest.mark.parametrize("name,dim,options,order,hessian", CASES)
def test_kernel_jet_and_table_gradient_match_reference(name, dim, options, order, hessian, gen):
    reference, kernel = _pair(name, dim, gen, **options)
    x = (torch.rand(70, dim, generator=gen, dtype=torch.float64) * 3 - 1).to(DEVICE)
    jet_ref = reference.jet(x, order, hessian=hessian)
    jet_ker = kernel.jet(x.float(), order, hessian=hessian)
    parts_ref = _components(jet_ref, order, hessian)
    parts_ker = _components(jet_ker, order, hessian)
    for what, a, e in zip(("value", "gradient", "second"), parts_ker, parts_ref):
        assert a.dtype == torch.float32
        assert _rel(a, e) <= TOL, f"{what}: {_rel(a, e):.2e}"
    # A loss that weighs every component differently reaches the table through each weight.
    weights = [
        torch.rand(p.shape, generator=gen, dtype=torch.float64).to(DEVICE) for p in parts_ref
    ]
    sum(((p * w).sum() for p, w in zip(parts_ref, weights))).backward()
    sum(((p * w.float()).sum() for p, w in zip(parts_ker, weights))).backward()
    grad_ref, grad_ker = reference.tables[0].grad, kernel.tables[0].grad
    assert grad_ker.abs().max() > 0
    assert _rel(grad_ker, grad_ref) <= TOL


def test_kernel_honours_level_mask_scale_weights_and_new_bounds(gen):
    reference, kernel = _pair("hermite", 2, gen)
    for enc in (reference, kernel):
        enc.set_level_mask([True, False, True])
        enc.set_level_scale([1.0, 0.5, 0.25])
        enc.set_level_weights([0.7, 1.0, 0.4])
        enc.set_bounds(-2.0, 3.0)
    x = (torch.rand(40, 2, generator=gen, dtype=torch.float64) * 5 - 2).to(DEVICE)
    jet_ref, jet_ker = reference.jet(x), kernel.jet(x.float())
    assert _rel(jet_ker.value, jet_ref.value) <= TOL
    assert _rel(jet_ker.lap, jet_ref.lap) <= TOL
    assert (jet_ker.value[:, 2:4] == 0).all()  # the masked level
    jet_ref.lap.sum().backward()
    jet_ker.lap.sum().backward()
    assert _rel(kernel.tables[0].grad, reference.tables[0].grad) <= TOL
    for enc in (reference, kernel):
        enc.set_level_weights([1.0, 1.0, 1.0])
    unweighted = kernel.jet(x.float())
    assert _rel(jet_ker.value[:, :2], 0.7 * unweighted.value[:, :2]) <= TOL
    assert _rel(jet_ker.value[:, 4:], 0.4 * unweighted.value[:, 4:]) <= TOL


def test_kernel_in_float64_matches_to_round_off(gen):
    reference, kernel = _pair("hermite", 2, gen, offset=True)
    kernel.double()
    with torch.no_grad():
        kernel.tables[0].copy_(reference.tables[0])  # the float32 copy was rounded
    x = (torch.rand(30, 2, generator=gen, dtype=torch.float64) * 3 - 1).to(DEVICE)
    jet_ref, jet_ker = reference.jet(x, hessian=True), kernel.jet(x, hessian=True)
    assert jet_ker.value.dtype == torch.float64
    assert _rel(jet_ker.hess, jet_ref.hess) <= 1e-12


def test_half_precision_table_is_read_in_float32(gen):
    reference, kernel = _pair("hermite", 2, gen)
    kernel.half()
    with torch.no_grad():
        reference.tables[0].copy_(kernel.tables[0].double())  # the same rounded coefficients
    x = (torch.rand(30, 2, generator=gen, dtype=torch.float64) * 3 - 1).to(DEVICE)
    jet_ker = kernel.jet(x.float())
    assert jet_ker.value.dtype == torch.float32
    assert _rel(jet_ker.lap, reference.jet(x).lap) <= TOL
    jet_ker.lap.sum().backward()
    assert kernel.tables[0].grad.dtype == torch.float16


def test_field_training_gradients_equal_on_both_paths(gen):
    fields = []
    for impl in ("torch", "triton"):
        torch.manual_seed(0)
        enc = sg.encodings.make(
            "hermite", 2, levels=3, min_res=3, max_res=12, log2_table=6, impl=impl
        )
        fields.append(sg.Field(enc, hidden=(16,), out=1).to(DEVICE))
    x = torch.rand(60, 2, generator=gen).to(DEVICE)
    for field in fields:
        jet = field.jet(x, order=2)
        ((jet.lap - 1.0) ** 2).mean().backward()
    for (name, p_ref), p_ker in zip(fields[0].named_parameters(), fields[1].parameters()):
        if p_ref.grad is None:  # the output bias does not reach a Laplacian
            assert p_ker.grad is None
            continue
        assert _rel(p_ker.grad, p_ref.grad.double()) <= 1e-4, name


def test_auto_impl_takes_the_reference_path_off_the_gpu(monkeypatch, gen):
    def fail(*args, **kwargs):
        raise AssertionError("the kernel ran")

    monkeypatch.setattr("smoothgrid.kernels.encode_jet", fail)
    enc = sg.encodings.make("hermite", 2, levels=2, min_res=2, max_res=4)
    assert enc.impl == "auto"
    x = torch.rand(5, 2, generator=gen)
    if not torch.cuda.is_available():
        enc.jet(x)  # CPU tensors: PyTorch path even under the interpreter
    enc_torch = sg.encodings.make("hermite", 2, levels=2, min_res=2, max_res=4, impl="torch")
    enc_torch.to(DEVICE).jet(x.to(DEVICE))


@pytest.mark.parametrize(
    "name,dim,options,reason",
    [
        ("hermite", 4, {}, "1 to 3 dimensions"),
        ("hermite", 2, {"log2_tables": (4, 4, 4)}, "one table"),
        ("linear", 2, {"st_lambda": 0.5}, "no kernel implements"),
        ("rbf", 2, {}, "no kernel implements"),
        ("quintic", 2, {"features": 3}, "power-of-two"),
    ],
)
def test_unsupported_calls_say_why(name, dim, options, reason):
    enc = sg.encodings.make(name, dim, levels=2, min_res=2, max_res=4, **options)
    why = kernels.unsupported_reason(torch.rand(3, dim), list(enc.tables), enc.kernel_step())
    assert reason in why
    forced = sg.encodings.make(name, dim, levels=2, min_res=2, max_res=4, impl="triton", **options)
    with pytest.raises(ValueError, match=reason):
        forced.jet(torch.rand(3, dim))


def test_points_that_need_gradients_take_the_reference_path(gen):
    auto = sg.encodings.make("hermite", 2, levels=2, min_res=2, max_res=4)
    x = torch.rand(4, 2, generator=gen, requires_grad=True)
    assert "gradient with respect to the points" in auto.kernel_unsupported_reason(x)
    forced = sg.encodings.make("hermite", 2, levels=2, min_res=2, max_res=4, impl="triton")
    with pytest.raises(ValueError, match="points"):
        forced.jet(x)


def test_bad_impl_is_rejected():
    with pytest.raises(ValueError, match="impl must be one of"):
        sg.encodings.make("hermite", 2, impl="cuda")


def test_component_spec_orders_components_like_the_reference():
    from smoothgrid.jet import derivative_multi_indices
    from smoothgrid.kernels.tensor_product import component_spec

    spec, K, NT = component_spec(3, 2, True, None)
    multi = derivative_multi_indices(3, 2, True, None)
    assert (K, NT) == (len(multi), 1)
    assert [tuple(spec[c * 3 : c * 3 + 3]) for c in range(K)] == multi
    spec, K, NT = component_spec(3, 2, False, (0, 2))
    assert (K, NT) == (5, 2)
    assert spec[4 * 6 :] == (2, 0, 0, 0, 0, 2)


def test_kernel_entry_takes_plain_tensors():
    """One dense 1D level of 4 cells on the unit box, the table holding each vertex's index:
    linear interpolation then gives ``4 u`` with derivative 4, times the feature scale."""
    table = torch.arange(5.0, device=DEVICE).reshape(5, 1, 1).expand(5, 1, 2).contiguous()
    table[:, 0, 1] *= -1.0  # feature 1 is minus feature 0
    level_f = kernels.level_floats(
        torch.tensor([4.0]), torch.tensor([0.0]), torch.tensor([0.5]), torch.tensor([[4.0]])
    ).to(DEVICE)
    level_i = kernels.level_ints([3], [True], [0], 5, [[5]]).to(DEVICE)
    unit = torch.tensor([[0.0], [0.3], [0.55], [1.0]], device=DEVICE)
    out = kernels.encode_jet(
        unit, table, level_f, level_i, step="linear", primes=(1,), order=1
    )  # (K=2, B=4, La=1, F=2)
    expected = 0.5 * 4.0 * unit[:, 0]
    assert out.shape == (2, 4, 1, 2)
    assert torch.allclose(out[0, :, 0, 0], expected, atol=1e-6)
    assert torch.allclose(out[0, :, 0, 1], -expected, atol=1e-6)
    assert torch.allclose(out[1, :, 0, 0], torch.full_like(expected, 2.0), atol=1e-6)


def test_hash_primes_reach_the_kernel(gen):
    """The kernel hashes with the primes it is given: the encoding's own reproduce its finest
    (hashed) level, other primes read other rows."""
    _, kernel = _pair("quintic", 2, gen)
    x = torch.rand(50, 2, generator=gen, dtype=torch.float64).to(DEVICE) * 3 - 1
    unit = kernel.to_unit(x.float())
    reference = kernel._kernel_encode(unit, 0, False, None)  # (1, B, L, F)
    level = kernel.levels - 1
    layout = kernel.layouts[0]
    assert not layout.dense[level]
    res = torch.tensor([float(kernel.resolutions[level])])
    level_f = kernels.level_floats(res, torch.zeros(1), torch.ones(1), (res / 3.0).expand(1, 2))
    level_i = kernels.level_ints(
        [kernel.resolutions[level] - 1],
        [False],
        [layout.start[level]],
        layout.table_size,
        [layout.vertices[level]],
    )
    table = kernel.tables[0].detach()
    outs = [
        kernels.encode_jet(
            unit, table, level_f.to(DEVICE), level_i.to(DEVICE), step="quintic", primes=p, order=0
        )
        for p in (sg.encodings.HASH_PRIMES, (1, 19349663))
    ]
    assert torch.allclose(outs[0][0, :, 0], reference[0, :, level], atol=1e-6)
    assert not torch.allclose(outs[0], outs[1])


# ------------------------------------------------- the backward's block pre-reduction
# Points in [-0.98, -0.8]^d of the box [-1, 2]^d lie in one cell of every level, cell 0 (of 3, 6
# and 12 cells per axis), so each corner of a block meets one row per level; cell 0 is also
# where the kernel's masked loads (zeros) land, so a run that ends the batch must be closed by
# the batch's end, not by a change of row.
ONE_CELL = (-0.98, -0.8)

# Per dimension: points (two or one full blocks of 128 and a partial one) and levels. In 3D two
# levels (3 and 6 cells: 64 dense vertices, then hashed) keep the interpreter's time down.
SIZES = {2: (300, {}), 3: (150, {"levels": 2, "max_res": 6})}


def _points(arrangement: str, n: int, dim: int, gen: torch.Generator) -> torch.Tensor:
    """``(n, dim)`` float64 points in the box ``[-1, 2]^dim``: random; random then Morton-sorted
    on a ``16^dim`` grid; random in one cell of every level (:data:`ONE_CELL`); or in runs of 5
    points that cycle through three finest cells along axis 0 (rows left and met again)."""
    from smoothgrid.kernels.ordering import cell_order

    u = torch.rand(n, dim, generator=gen, dtype=torch.float64)
    if arrangement in ("one_cell", "runs"):
        lo, hi = ONE_CELL
        x = lo + (hi - lo) * u
        if arrangement == "runs":
            x[:, 0] += 0.25 * ((torch.arange(n) // 5) % 3)
        return x
    if arrangement == "morton":
        u = u[cell_order(u, 16)]
    return u * 3 - 1


# (dim, dtype, arrangement): Morton-sorted points, and runs in one coarse cell that leave a row
# and meet it again, in 2D and 3D and in both precisions (random points take the per-point path
# of the reference tests above; each case here costs 10-20 s under the interpreter).
F32, F64 = torch.float32, torch.float64
PRE_REDUCED = [
    pytest.param(dim, dtype, arrangement, id=f"{dim}D-{str(dtype)[-7:]}-{arrangement}")
    for dim, dtype, arrangement in ((2, F32, "morton"), (2, F32, "runs"), (3, F64, "runs"))
]


@pytest.fixture
def pre_reduced(monkeypatch):
    """The backward's pre-reduction on (off by default until a GPU has measured it)."""
    monkeypatch.setattr(kernels, "_RUNS", kernels._BLOCK // 4)


@pytest.mark.parametrize("dim,dtype,arrangement", PRE_REDUCED)
def test_pre_reduced_table_gradient_matches_reference(dim, dtype, arrangement, gen, pre_reduced):
    """Dense (coarse) and hashed (fine) Hermite levels; the last block is partial, and its
    masked-out lanes must not join the last run."""
    n, options = SIZES[dim]
    reference, kernel = _pair("hermite", dim, gen, **options)
    layout = kernel.layouts[0]
    assert layout.dense[0] and not layout.dense[-1]
    if dtype == torch.float64:
        kernel.double()
        with torch.no_grad():
            kernel.tables[0].copy_(reference.tables[0])
    x = _points(arrangement, n, dim, gen).to(DEVICE)
    jets = (reference.jet(x), kernel.jet(x.to(dtype)))
    # A loss that weighs every point's value and Laplacian differently.
    w_value = torch.rand(jets[0].value.shape, generator=gen, dtype=torch.float64).to(DEVICE)
    w_lap = torch.rand(jets[0].lap.shape, generator=gen, dtype=torch.float64).to(DEVICE)
    for jet in jets:
        t = jet.value.dtype
        ((jet.value * w_value.to(t)).sum() + (jet.lap * w_lap.to(t)).sum()).backward()
    grad_ref, grad_ker = reference.tables[0].grad, kernel.tables[0].grad
    assert grad_ker.dtype == dtype
    assert (grad_ref != 0).sum() >= 2**dim  # the rows of one cell at least
    assert _rel(grad_ker, grad_ref) <= (TOL if dtype == torch.float32 else 1e-12)


def _count_atomics(monkeypatch) -> list[int]:
    """Patch Triton's interpreter to count the active lanes of every atomic it performs."""
    interpreter = pytest.importorskip("triton.runtime.interpreter")
    builder = getattr(interpreter, "InterpreterBuilder", None)
    if not kernels.interpreted() or not hasattr(builder, "create_atomic_rmw"):
        pytest.skip("counts atomics through Triton's interpreter")
    original = builder.create_atomic_rmw
    count = [0]

    def counted(self, rmw_op, ptr, val, mask, sem, scope):
        count[0] += int(mask.data.sum())
        return original(self, rmw_op, ptr, val, mask, sem, scope)

    monkeypatch.setattr(builder, "create_atomic_rmw", counted)
    return count


def test_runs_of_points_on_one_row_add_one_atomic(gen, monkeypatch, pre_reduced):
    """Per level, corner, coefficient and feature a block adds one atomic per run of points on
    one row (at most ``kernels._RUNS`` runs), else one per point; ``_RUNS = 0`` always one per
    point. (2D: the counts do not depend on the dimension, the interpreter's time does.)"""
    count = _count_atomics(monkeypatch)
    dim = 2
    n, options = SIZES[dim]
    _, kernel = _pair("hermite", dim, gen, **options)
    blocks, levels, features = -(-n // 128), kernel.levels, 2
    per_run = levels * 2**dim * 2**dim * features  # corners x coefficients
    per_point = n * per_run

    def atomics(x: torch.Tensor) -> int:
        count[0] = 0
        kernel.jet(x.float().to(DEVICE), order=0).value.sum().backward()
        return count[0]

    one = _points("one_cell", n, dim, gen)
    assert atomics(one) == blocks * per_run
    halves = one.clone()
    halves[n // 2 :, 0] += 0.25  # the second half one finest cell up: a block meets two runs
    assert blocks * per_run < atomics(halves) <= (blocks + 1) * per_run
    runs = atomics(_points("runs", n, dim, gen))  # about 26 runs per block on the finest level
    assert 2 * blocks * per_run < runs < per_point // 3
    assert atomics(_points("random", n, dim, gen)) > per_point // 2
    monkeypatch.setattr(kernels, "_RUNS", 0)
    assert atomics(one) == per_point
