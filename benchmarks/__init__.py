"""The benchmarks behind the README's tables and figures; not part of the installed package.

Each one runs from the repository root as a module, e.g. ``.ci/env python -m benchmarks.speed
--quick``, and writes its result to ``benchmarks/results/`` through ``benchmarks._report``.
"""
