"""Timing shared by the bench's Python baselines (no third-party imports: each baseline runs in its own venv)."""
import statistics
import time


def time_calls(call, calls):
    """Runs `call()` `calls` times (at least once) and returns {"first_ms", "second_ms", "median_ms", "calls"}:
    the first call (graph building, allocation), the second, and the median of the second call onward (the first
    alone when there is one call)."""
    times = []
    for _ in range(max(calls, 1)):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1e3)
    rest = times[1:] or times
    return {"first_ms": times[0], "second_ms": rest[0], "median_ms": statistics.median(rest), "calls": len(times)}
