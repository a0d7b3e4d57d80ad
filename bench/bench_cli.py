"""Command-line latency: ``rstheory bound`` and ``rstheory plan`` against a SciPy one-liner.

The reference, measured in the same run, is the wall time of a fresh interpreter running

    python -c "from scipy.stats import beta; print(beta.ppf(0.001, 990, 11))"

(the Clopper-Pearson lower bound of ``k = 990, n = 1000`` by hand). Each command runs in a
fresh interpreter too (``python -m rstheory ...``, what the ``rstheory`` script runs):

* warm: the best of ``--repeat`` runs once a first run has filled the compilation cache
  (every run after the first on a machine); the goal is at most 1.5 x the reference;
* first: one run with a fresh, empty compilation cache (``RSTHEORY_CACHE_DIR`` pointed at
  an empty folder: the first run after install; Python's bytecode is already compiled);
  the goal is at most 3 x the warm reference.

The compilation caches live in a temporary folder, so the user's cache is left alone.
Prints one line per command: ``cli COMMAND warm S s ratio R (goal 1.5x: yes|no) first S s
ratio R (goal 3x: yes|no)``.

Usage::

    python bench/bench_cli.py              # best of 5
    python bench/bench_cli.py --quick      # one run each, two commands (a smoke test)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

from _timing import best_of, run_timed

REFERENCE = "from scipy.stats import beta; print(beta.ppf(0.001, 990, 11))"
COMMANDS = (
    ("bound 990 1000", ["bound", "990", "1000"]),
    ("bound 990 1000 --json", ["bound", "990", "1000", "--json"]),
    ("plan --dist point:0.9", ["plan", "--dist", "point:0.9"]),
    ("plan --dist beta:8,2", ["plan", "--dist", "beta:8,2"]),
)
WARM_GOAL, FIRST_GOAL = 1.5, 3.0


def _env(cache: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JAX_")}
    env.update(RSTHEORY_CACHE_DIR=cache, OMP_NUM_THREADS=os.environ.get("OMP_NUM_THREADS", "1"))
    return env


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5, help="warm runs per command (best of)")
    parser.add_argument("--quick", action="store_true", help="one run each, bound and plan")
    args = parser.parse_args(argv)
    repeat = 1 if args.quick else args.repeat
    commands = (COMMANDS[0], COMMANDS[2]) if args.quick else COMMANDS
    python = sys.executable
    with tempfile.TemporaryDirectory(prefix="bench_cli_") as tmp:
        warm_cache = os.path.join(tmp, "warm")
        env = _env(warm_cache)
        run_timed([python, "-c", REFERENCE], env)  # page the interpreter and scipy in
        reference = best_of([python, "-c", REFERENCE], env, max(repeat, 3))
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus")
        print(f"reference scipy one-liner: best {reference:.3f} s")
        rows = []
        for i, (name, argv_) in enumerate(commands):
            cmd = [python, "-m", "rstheory", *argv_]
            first = run_timed(cmd, _env(os.path.join(tmp, f"first{i}")))
            run_timed(cmd, env)  # fills the warm cache
            warm = best_of(cmd, env, repeat)
            rows.append((name, warm, first))
        # the reference again, after the commands: a drifting machine shows as a change
        reference_after = best_of([python, "-c", REFERENCE], env, max(repeat, 3))
        print(f"reference scipy one-liner after the commands: best {reference_after:.3f} s")
        ref = min(reference, reference_after)
        for name, warm, first in rows:
            w, f = warm / ref, first / ref
            print(
                f"cli {name}: warm {warm:.3f} s ratio {w:.2f} "
                f"(goal {WARM_GOAL:g}x: {'yes' if w <= WARM_GOAL else 'no'}) "
                f"first {first:.3f} s ratio {f:.2f} "
                f"(goal {FIRST_GOAL:g}x: {'yes' if f <= FIRST_GOAL else 'no'})"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
