"""The ``needlewise`` command line.

Every command calls a use case in ``needlewise.services``; ``--json`` prints the same
canonical JSON the API returns. Exit codes: 0 success; 2 unusable input (one line on
stderr naming the problem and where: file and JSON path); 1 internal error. Imports of
anything slow (FastAPI, uvicorn) happen inside the command that needs them.
"""

from needlewise.cli import (  # noqa: F401 - registers the commands
    audit,
    bulk,
    clinical,
    demo_run,
    interop,
    operations,
    service,
    worker,
)
from needlewise.cli.base import main

__all__ = ["main"]
