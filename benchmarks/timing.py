"""What the benchmarks share: the best of several timed runs (the machine is shared and noisy)."""
import time


def best_of(fn, repeats: int = 1) -> float:
    """The shortest wall-clock time of ``repeats`` calls of ``fn``, in seconds."""
    best = float('inf')
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best
