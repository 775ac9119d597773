"""Runs that outgrow one process: torch.distributed, started by ``torchrun`` / ``tools/dist_run.sh`` or a
cluster's launcher, initialised through MMEngine (``--launcher pytorch|slurm|mpi``) as every OpenMMLab tool.

Every rank plans the same inputs and output names (sorted, deterministic), then takes every world-size-th
input from its rank on: no two ranks write one file. Counts are summed over the ranks, so that rank 0 says
the run's totals and every rank exits non-zero when any had a failure.
"""
from __future__ import annotations

import contextlib
import logging

import torch

LAUNCHERS = ('none', 'pytorch', 'slurm', 'mpi')
logger = logging.getLogger('mmyolo_vis')


def add_launcher_arg(parser):
    parser.add_argument('--launcher', choices=LAUNCHERS, default='none',
                        help='job launcher: none (one process), or pytorch (torchrun, tools/dist_run.sh), slurm, '
                             'mpi: the inputs are shared among the processes')


@contextlib.contextmanager
def without_cuda_set_device():
    """MMEngine's init_dist calls torch.cuda.set_device(local_rank) whatever the backend, which fails on a
    machine without a GPU driver; a CPU run (gloo) needs no device, so that call is skipped there."""
    original = torch.cuda.set_device
    torch.cuda.set_device = lambda device: None
    try:
        yield
    finally:
        torch.cuda.set_device = original


def init_distributed(launcher: str, device: str | None) -> str | None:
    """Start this process's part of a distributed run (nothing for ``none``); returns the device to use:
    the GPU of this rank's local rank with nccl, the CPU with gloo."""
    if launcher == 'none':
        return device
    from mmengine.dist import init_dist
    on_gpu = torch.cuda.is_available() and (device is None or device.startswith('cuda'))
    if on_gpu:
        init_dist(launcher, backend='nccl')  # sets this rank's GPU from its local rank
        device = f'cuda:{torch.cuda.current_device()}'
    else:
        with without_cuda_set_device():
            init_dist(launcher, backend='gloo')
        device = 'cpu'
    if not is_main():
        logger.setLevel(logging.WARNING)  # rank 0 tells the run; the others say only what goes wrong
    return device


def close_distributed():
    """End this process's part of a distributed run. A process that exits with its gloo process group still
    alive can abort at interpreter exit ("terminate called without an active exception", SIGABRT) after
    its work is done, and the launcher then fails the whole run."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        torch.distributed.destroy_process_group()


def rank_and_world() -> tuple[int, int]:
    from mmengine.dist import get_dist_info
    return get_dist_info()


def is_main() -> bool:
    return rank_and_world()[0] == 0


def shard(items: list) -> list:
    """This rank's share: every world-size-th item from its rank on (the same split on every run)."""
    rank, world = rank_and_world()
    return items[rank::world]


def sum_over_ranks(*counts: int) -> tuple[int, ...]:
    """Integer counts summed over every rank (the counts themselves in a single process)."""
    rank, world = rank_and_world()
    if world == 1:
        return counts
    from mmengine.dist import all_reduce
    t = torch.tensor(counts, dtype=torch.int64)
    all_reduce(t, op='sum')
    return tuple(int(v) for v in t.tolist())


def wait_for_all():
    """A barrier (nothing in a single process): no rank leaves before every rank is there. torchrun stops
    the others as soon as one exits with a failure, so ranks leave together, after rank 0 has spoken."""
    if rank_and_world()[1] > 1:
        from mmengine.dist import barrier
        barrier()


def gather_rows(rows: list) -> list | None:
    """Every rank's rows on rank 0 (in rank-interleaved order), None on the others; the rows themselves in a
    single process."""
    rank, world = rank_and_world()
    if world == 1:
        return rows
    from mmengine.dist import collect_results
    total, = sum_over_ranks(len(rows))
    # 'gpu' is MMEngine's name for gathering through the process group (all_gather_object): gloo does it on
    # the CPU too, and unlike 'cpu' it needs no folder shared by every node
    return collect_results(rows, total, device='gpu')
