"""The gather-contract at the heart of every grid encoding.

``out[k, f, n] = sum_{v, m} weights[k, v, m, n] * table[rows[v, n], m, f]``

``k`` runs over jet components (value, derivatives), ``v`` over the neighbour vertices of point
``n``, ``m`` over the coefficients stored per vertex. Two implementations with one signature:

* :func:`gather_contract_reference`: plain differentiable PyTorch (any order of autograd, so the
  ``autograd`` derivative backend can differentiate through it twice);
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
    """``(V*M, F, N)`` rows of ``table (R, M, F)`` at ``rows (V, N)``, points last."""
    V, N = rows.shape
    _, M, F = table.shape
    gathered = table.index_select(0, rows.reshape(-1)).view(V, N, M, F)
    return gathered.permute(0, 2, 3, 1).reshape(V * M, F, N)


def gather_contract_reference(table: Tensor, rows: Tensor, weights: Tensor) -> Tensor:
    """Differentiable reference of the gather-contract.

    Args:
        table: ``(R, M, F)`` coefficients per table row.
        rows: ``(V, N)`` int64 table row of each neighbour of each point.
        weights: ``(K, V, M, N)``.

    Returns:
        ``(K, F, N)``.
    """
    K, V, M, N = weights.shape
    gathered = _gather(table, rows)  # (V*M, F, N)
    return (weights.reshape(K, V * M, 1, N) * gathered).sum(1)


class _GatherContract(torch.autograd.Function):
    @staticmethod
    def forward(ctx, table: Tensor, rows: Tensor, weights: Tensor) -> Tensor:
        K, V, M, N = weights.shape
        gathered = _gather(table, rows)
        w = weights.reshape(K, V * M, N)
        out = torch.zeros(K, table.shape[2], N, dtype=table.dtype, device=table.device)
        for i in range(V * M):
            out.addcmul_(w[:, i].unsqueeze(1), gathered[i])
        ctx.save_for_backward(rows, weights)
        ctx.table_shape = table.shape
        return out

    @staticmethod
    def backward(ctx, grad_out: Tensor):
        rows, weights = ctx.saved_tensors
        K, V, M, N = weights.shape
        R, _, F = ctx.table_shape
        w = weights.reshape(K, V * M, N)
        grad_rows = torch.empty(V * M, F, N, dtype=grad_out.dtype, device=grad_out.device)
        for i in range(V * M):
            torch.mul(w[0, i].unsqueeze(0), grad_out[0], out=grad_rows[i])
            for k in range(1, K):
                grad_rows[i].addcmul_(w[k, i].unsqueeze(0), grad_out[k])
        per_row = grad_rows.view(V, M, F, N).permute(0, 3, 1, 2).reshape(V * N, M, F)
        grad_table = torch.zeros(R, M, F, dtype=grad_out.dtype, device=grad_out.device)
        grad_table.index_add_(0, rows.reshape(-1), per_row)
        return grad_table, None, None


def gather_contract(table: Tensor, rows: Tensor, weights: Tensor) -> Tensor:
    """The gather-contract with a hand-written table backward (see the module docstring).

    Same arguments and result as :func:`gather_contract_reference`.
    """
    if weights.requires_grad:
        return gather_contract_reference(table, rows, weights)
    return _GatherContract.apply(table, rows, weights)
