"""Helpers shared by the performance suite (``python benchmarks/run.py``).

- :func:`interleaved` times several callables side by side: every round runs
  each callable once, in turn, so that a burst of noise on a shared machine
  hits all of them alike and their ratios stay honest.
- :class:`Table` collects rows and renders them as a markdown pipe table or
  as a JSON-ready dict.
- :func:`machine_info` describes the machine and the library versions for the
  JSON file.
"""

import math
import os
import platform
import statistics
import subprocess
import time
from pathlib import Path

import numpy as np


def interleaved(funcs, repeat, warmup=1, block=1, settle=0.0):
    """Median seconds per call of each callable, timed in interleaved rounds.

    Parameters
    ----------
    funcs : dict of str to callable
        The callables to time; each is called without arguments.
    repeat : int
        Number of timed rounds; every round calls each callable once, in the
        order of ``funcs``.
    warmup : int, default=1
        Untimed calls of each callable before the first round (JIT loading,
        caches, page faults).
    block : int, default=1
        Calls of a callable in a row within a round, timed together. Thread
        pools (OpenBLAS's, numba's) keep their threads spinning for a while
        after a call; alternating two pools call by call makes each one's
        spinning threads slow the other, so kernels that use threads are
        better timed in blocks.
    settle : float, default=0.0
        Seconds of (untimed) sleep before each block, for the threads of the
        previous callable's pool to stop spinning.

    Returns
    -------
    dict of str to float
        Median wall-clock seconds per call of each callable over the
        ``repeat`` rounds.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    for _ in range(warmup):
        for func in funcs.values():
            func()
    times = {name: [] for name in funcs}
    for _ in range(repeat):
        for name, func in funcs.items():
            if settle:
                time.sleep(settle)
            start = time.perf_counter()
            for _ in range(block):
                func()
            times[name].append((time.perf_counter() - start) / block)
    return {name: statistics.median(ts) for name, ts in times.items()}


def interleaved_setup(cases, repeat, warmup=1):
    """Like :func:`interleaved`, with an untimed setup before every call.

    ``cases`` maps a name to ``(setup, func)``: each call runs ``state =
    setup()`` untimed, then times ``func(state)``. Returns the median seconds
    of ``func`` per name.
    """
    if repeat < 1:
        raise ValueError(f"repeat must be at least 1, got {repeat}")
    for _ in range(warmup):
        for setup, func in cases.values():
            func(setup())
    times = {name: [] for name in cases}
    for _ in range(repeat):
        for name, (setup, func) in cases.items():
            state = setup()
            start = time.perf_counter()
            func(state)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(ts) for name, ts in times.items()}


# one-hot groups of a9a's 14 categorical attributes (age, workclass, fnlwgt,
# education, education-num, marital status, occupation, relationship, race,
# sex, capital gain, capital loss, hours per week, native country): 123 columns
A9A_GROUPS = (5, 8, 5, 16, 5, 7, 14, 6, 5, 2, 2, 2, 5, 41)


def make_sparse_a9a_like(n, groups=A9A_GROUPS, seed=0, dtype=np.float64):
    """Synthetic CSR data shaped like a9a: one-hot groups, labels in {-1, +1}.

    Every row has one stored 1 in each group (14 per row, as a9a's 11 to 14),
    the category drawn with Zipf-like frequencies; the labels follow a
    logistic model with random coefficients, so the data are not separable.
    Generated from ``seed`` (nothing is downloaded).
    """
    import scipy.sparse as sp

    rng = np.random.default_rng(seed)
    d = int(sum(groups))
    coef = rng.standard_normal(d)
    indices = np.empty((n, len(groups)), dtype=np.int32)
    margin = np.full(n, -1.0)
    offset = 0
    for g, size in enumerate(groups):
        p = 1.0 / np.arange(1, size + 1)
        col = rng.choice(size, size=n, p=p / p.sum()).astype(np.int32)
        indices[:, g] = col + offset
        margin += coef[col + offset]
        offset += size
    y = np.where(rng.random(n) < 1.0 / (1.0 + np.exp(-margin)), 1.0, -1.0)
    nnz = n * len(groups)
    indptr = np.arange(0, nnz + 1, len(groups), dtype=np.int32)
    X = sp.csr_matrix((np.ones(nnz, dtype=dtype), indices.ravel(), indptr),
                      shape=(n, d))
    return X, y


def make_dense(n, d, seed=0):
    """Gaussian ``(n, d)`` features, logistic labels in {-1, +1}."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((n, d))
    coef = rng.standard_normal(d) * (2.0 / np.sqrt(d))
    margin = X @ coef
    y = np.where(rng.random(n) < 1.0 / (1.0 + np.exp(-margin)), 1.0, -1.0)
    return X, y


def format_value(value):
    """A short, readable rendering of a table cell."""
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    if isinstance(value, (float, np.floating)):
        value = float(value)
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        if value == 0.0:
            return "0"
        mag = abs(value)
        if mag >= 1e6 or mag < 1e-2:
            return f"{value:.2e}"
        if mag >= 100:
            return f"{value:.0f}"
        if mag >= 10:
            return f"{value:.1f}"
        if mag >= 1:
            return f"{value:.2f}"
        return f"{value:.3g}"
    return str(value)


def _plain(value):
    """``value`` as a JSON-serialisable Python object (non-finite -> None)."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        value = float(value)
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class Table:
    """Rows of benchmark results with a title, fixed columns and a note.

    Parameters
    ----------
    title : str
        Printed above the table.
    columns : list of str
        Column names, in display order; rows are added by keyword.
    note : str, default=""
        A sentence or two printed under the table (what is measured, caveats).
    formats : dict of str to str, optional
        Format specifications (``"{:.2e}"``) of numeric cells per column, in
        place of :func:`format_value`.
    """

    def __init__(self, title, columns, note="", formats=None):
        self.title = title
        self.columns = list(columns)
        self.note = note
        self.formats = dict(formats or {})
        self.rows = []

    def add(self, **row):
        """Append a row; missing columns stay empty, unknown ones are an error."""
        unknown = set(row) - set(self.columns)
        if unknown:
            raise KeyError(f"unknown columns {sorted(unknown)} for {self.title!r}")
        self.rows.append({c: row.get(c) for c in self.columns})
        return self

    def markdown(self):
        """The table as markdown: a bold title, a pipe table and the note."""
        lines = [f"**{self.title}**", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("| " + " | ".join("---" for _ in self.columns) + " |")
        for row in self.rows:
            cells = [self._cell(c, row[c]).replace("|", "\\|")
                     for c in self.columns]
            lines.append("| " + " | ".join(cells) + " |")
        if self.note:
            lines += ["", self.note]
        return "\n".join(lines)

    def _cell(self, column, value):
        spec = self.formats.get(column)
        if spec and isinstance(value, (int, float, np.integer, np.floating)) \
                and not isinstance(value, (bool, np.bool_)):
            return spec.format(value)
        return format_value(value)

    def as_dict(self):
        """A JSON-ready dict: title, columns, note and the rows as dicts."""
        return {
            "title": self.title,
            "columns": list(self.columns),
            "note": self.note,
            "rows": [_plain(row) for row in self.rows],
        }


def _version(module):
    try:
        mod = __import__(module)
    except ImportError:
        return None
    return getattr(mod, "__version__", None)


def _git_revision():
    """The checked-out commit (with ``+dirty`` for local changes), or None."""
    here = Path(__file__).resolve().parent
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here,
                             capture_output=True, text=True, timeout=10)
        if rev.returncode != 0:
            return None
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=here, capture_output=True, text=True, timeout=10)
        return rev.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return None


def machine_info():
    """Versions and hardware facts recorded next to the results."""
    try:
        usable = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        usable = os.cpu_count()
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "numpy": _version("numpy"),
        "scipy": _version("scipy"),
        "sklearn": _version("sklearn"),
        "numba": _version("numba"),
        "skbnorm": _version("skbnorm"),
        "git_revision": _git_revision(),
        "cpu_count": os.cpu_count(),
        "usable_cpus": usable,
        "processor": platform.processor() or _cpu_model(),
        "machine": platform.machine(),
        "system": platform.system(),
        "release": platform.release(),
        "numba_num_threads": _numba_threads(),
        "date": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def _cpu_model():
    """The CPU model name on Linux ("" elsewhere or when unreadable)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return ""


def _numba_threads():
    try:
        import numba
    except ImportError:
        return None
    return int(numba.config.NUMBA_NUM_THREADS)


def median(values):
    """Median of a non-empty sequence (``statistics.median``, re-exported)."""
    return statistics.median(values)
