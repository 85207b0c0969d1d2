"""The gather-contract at the heart of every grid encoding.

``out[k, f, n] = sum_{v, m} weights[k, v, m, n] * table[rows[v, n], m, f]``

``k`` runs over jet components (value, derivatives), ``v`` over the neighbour vertices of point
``n``, ``m`` over the coefficients stored per vertex. Two implementations with one signature:

* :func:`gather_contract_reference`: plain differentiable PyTorch (any order of autograd, so the
  ``autograd`` derivatives can differentiate through it twice);
* :func:`gather_contract`: the same forward with a hand-written backward to the table
  (``index_add_`` of the weighted output gradients), which saves only the weights and rows
  instead of autograd's per-slice intermediates. Used when the weights need no gradient (points
  that are not optimised), which is the PDE-training case; otherwise it defers to the reference.

Points are the last axis so the multiply-adds run over long contiguous rows.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["gather_contract", "gather_contract_reference"]


def _gather(table: Tensor, rows: Tensor) -> Tensor:
    """``(M, F, V, N)`` rows of ``table (R, M, F)`` at ``rows (V, N)``, points last.

    The table is first transposed to coefficient-major ``(M*F, R)`` (a copy the size of the
    table, far smaller than the gathered rows) and gathered along its last axis, so the result
    comes out points-last without transposing the much larger gathered block.
    """
    V, N = rows.shape
    _, M, F = table.shape
    by_coefficient = table.permute(1, 2, 0).reshape(M * F, -1)
    return by_coefficient.index_select(1, rows.reshape(-1)).view(M, F, V, N)


def gather_contract_reference(table: Tensor, rows: Tensor, weights: Tensor) -> Tensor:
    """Differentiable reference of the gather-contract.

    Args:
        table: ``(R, M, F)`` coefficients per table row.
        rows: ``(V, N)`` int64 table row of each neighbour of each point.
        weights: ``(K, V, M, N)``.

    Returns:
        ``(K, F, N)``.
    """
    gathered = _gather(table, rows).permute(2, 0, 1, 3)  # (V, M, F, N)
    return (weights.unsqueeze(3) * gathered).sum((1, 2))


class _GatherContract(torch.autograd.Function):
    @staticmethod
    def forward(ctx, table: Tensor, rows: Tensor, weights: Tensor) -> Tensor:
        K, V, M, N = weights.shape
        gathered = _gather(table, rows)
        out = torch.zeros(K, table.shape[2], N, dtype=table.dtype, device=table.device)
        for v in range(V):
            for m in range(M):
                out.addcmul_(weights[:, v, m].unsqueeze(1), gathered[m, :, v])
        ctx.save_for_backward(rows, weights)
        ctx.table_shape = table.shape
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        rows, weights = ctx.saved_tensors
        K, V, M, N = weights.shape
        R, _, F = ctx.table_shape
        # d loss / d gathered[m, f, v, n] = sum_k weights[k, v, m, n] grad_out[k, f, n]
        grad_gathered = torch.empty(M, F, V, N, dtype=grad_out.dtype, device=grad_out.device)
        for v in range(V):
            for m in range(M):
                slot = grad_gathered[m, :, v]
                torch.mul(weights[0, v, m].unsqueeze(0), grad_out[0], out=slot)
                for k in range(1, K):
                    slot.addcmul_(weights[k, v, m].unsqueeze(0), grad_out[k])
        grad_table = torch.zeros(M * F, R, dtype=grad_out.dtype, device=grad_out.device)
        grad_table.index_add_(1, rows.reshape(-1), grad_gathered.view(M * F, V * N))
        return grad_table.view(M, F, R).permute(2, 0, 1), None, None


def gather_contract(table: Tensor, rows: Tensor, weights: Tensor) -> Tensor:
    """The gather-contract with a hand-written table backward (see the module docstring).

    Same arguments and result as :func:`gather_contract_reference`.
    """
    if weights.requires_grad:
        return gather_contract_reference(table, rows, weights)
    return _GatherContract.apply(table, rows, weights)
