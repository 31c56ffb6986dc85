"""Runs one command and prints its wall time, CPU time and peak RSS, tab-separated: `wall_s cpu_s peak_rss_kb exit`.

The bench's measuring tool (no third-party imports). CPU time and peak RSS come from `wait4`'s rusage of the child, to
the microsecond (GNU time prints CPU in 10 ms steps, which made a 40 ms `cp` read as 30 or 40 ms); the wall time is
the clock around the child's whole life. The command's stdout and stderr go where this script sends them.

    python3 Scripts/bench/measure.py RESULT_FILE COMMAND...
"""
import os
import subprocess
import sys
import time


def main():
    if len(sys.argv) < 3:
        sys.exit("usage: measure.py RESULT_FILE COMMAND...")
    result, command = sys.argv[1], sys.argv[2:]
    start = time.perf_counter()
    child = subprocess.Popen(command)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    with open(result, "w") as out:
        out.write(f"{wall:.6f}\t{usage.ru_utime + usage.ru_stime:.6f}\t{usage.ru_maxrss}\t{code}\n")
    sys.exit(0 if code == 0 else 1)


if __name__ == "__main__":
    main()
