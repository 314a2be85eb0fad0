"""A build's data check, run in a process of its own.

Parsing the data holds ~1.4 GB at 200,000 firms, which a process of its own returns
when it ends; the check it leaves in the build's shared cache
(:func:`jdeval.build.share.validate_data`) is what the notebooks and the disclosure
gate read, so a build parses its data once.  The child is a plain
``python -m jdeval.build.datacheck`` (not :mod:`multiprocessing`, whose ``spawn``
re-runs the caller's script when it has no ``if __name__ == "__main__"`` guard).
"""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import tempfile
from pathlib import Path

from jdeval.build import share
from jdeval.build.cache import ENV_CODE_VERSION
from jdeval.build.paths import display_path
from jdeval.errors import BuildError, ConfigError, JdevalError, Problem

__all__ = ["check_data"]


def check_data(year: int, data: Path, shared_dir: Path, code: str) -> None:
    """Check ``data`` for ``year`` in a child process; raise what it found.

    Raises
    ------
    DataError, ConfigError
        The data have errors, or ``year`` is not an award batch year of them.
    BuildError
        The child died (e.g. killed for lack of memory).
    """
    with tempfile.TemporaryDirectory(prefix="jdeval-check-") as tmp:
        err = Path(tmp) / "error.pickle"
        args = [str(year), str(data), str(shared_dir), code, str(err)]
        proc = subprocess.run(
            [sys.executable, "-m", "jdeval.build.datacheck", *args],
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="replace",
        )
        if proc.returncode == 0:
            return
        if proc.returncode == 1 and err.is_file():
            raise pickle.loads(err.read_bytes())
    tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
    raise BuildError(
        "数据检查进程意外退出 / the data check process died",
        [
            Problem(
                "error",
                "data_check_died",
                f"检查数据的进程意外终止（退出码 {proc.returncode}；常见原因：内存不足）。{tail}",
                f"The process checking the data ended with code {proc.returncode} "
                f"(often: out of memory). {tail}",
                file=display_path(data),
            )
        ],
    )


def _check(year: int, data: str, shared_dir: str) -> None:
    """The check itself: every data error at once, then the year."""
    ds = share.load_data(data, cache=shared_dir)  # raises DataError listing all
    # the evaluation year is an award batch year (the panel also has earlier years)
    years = ds.batch_years or ds.years
    if years and year not in years:
        listed = "、".join(str(y) for y in years)
        raise ConfigError(
            "评价年度不在数据范围内 / year outside the data",
            [
                Problem(
                    "error",
                    "year_range",
                    f"数据中的申报批次年度为 {listed}，没有 {year} 年。",
                    f"The award batch years in the data are "
                    f"{', '.join(map(str, years))}; {year} is not among them.",
                    file=display_path(Path(data)),
                    column="year",
                    value=year,
                )
            ],
        )


def main(argv: list[str] | None = None) -> int:
    """``python -m jdeval.build.datacheck YEAR DATA SHARED_DIR CODE ERROR_FILE``."""
    year, data, shared_dir, code, err = argv if argv is not None else sys.argv[1:]
    os.environ[ENV_CODE_VERSION] = code
    try:
        _check(int(year), data, shared_dir)
    except JdevalError as e:  # the user's data or year: told by the build
        Path(err).write_bytes(pickle.dumps(e))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
