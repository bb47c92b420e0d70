"""Worker processes of the two-process numerical tests (gloo, spawned)."""

import os
import time

import pytest
import torch.distributed as dist
import torch.multiprocessing as mp


def leave_together(rank, world, init_file):
    """End a worker once both have written their results.

    Rank 0 may return from the last collective before its final message reached rank 1; if it exited
    then, rank 1 would wait forever. A file store (no messages to lose) holds rank 0 until rank 1 is
    through. Tearing down the gloo group can block in its C++ destructors (seen here about one run in
    three), so the worker leaves without running them.
    """
    done = dist.FileStore(f"{init_file}.done", world)
    if rank == 0:
        done.wait(["rank1-done"])
    else:
        done.set("rank1-done", "1")
    os._exit(0)


def run_processes(fn, args, nprocs, timeout=600):
    """mp.spawn with a deadline: a collective that never completes fails the test instead of hanging."""
    context = mp.start_processes(fn, args=args, nprocs=nprocs, join=False, start_method="spawn")
    deadline = time.monotonic() + timeout
    while not context.join(timeout=max(deadline - time.monotonic(), 0)):
        if time.monotonic() >= deadline:
            for process in context.processes:
                process.kill()
            pytest.fail(f"worker processes did not finish within {timeout}s")


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now, for a launcher's rendezvous (tests may run beside each other)."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]
