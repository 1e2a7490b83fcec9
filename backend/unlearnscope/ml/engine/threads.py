"""CPU threads for training beside a live monitor."""

from __future__ import annotations

import os

import torch


def share_cores(device: torch.device) -> tuple[int, int]:
    """(cores this process may use, torch threads for training) once a live monitor runs.

    torch's thread count is per process: on a CPU it is halved, so that training and the
    monitor each run on their own cores instead of fighting over all of them.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    threads = torch.get_num_threads()
    if device.type == "cpu" and threads > max(1, cores // 2):
        threads = max(1, cores // 2)
        torch.set_num_threads(threads)
    return cores, threads
