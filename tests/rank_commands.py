"""Test helper, started by torchrun in tests/test_torchrun.py: each argument is one ``seemup`` command line,
run one after the other by the same ranks (one process group, as several commands of one job script).

With SEEMUP_TEST_DYING_RANK=N, rank N ends at once (``os._exit``: no clean-up, as after a ``kill -9``)
right after its first chunk is recorded as finished. Nothing of this is in seemup itself.
"""

import os
import shlex
import sys

from seemup.cli import main
from seemup.pipeline.state import JobState

_record = JobState.mark_done


def _record_then_die(self: JobState, index: int) -> None:
    _record(self, index)
    os._exit(9)


if os.environ.get("RANK") == os.environ.get("SEEMUP_TEST_DYING_RANK", "none"):
    JobState.mark_done = _record_then_die

for line in sys.argv[1:]:
    try:
        main(shlex.split(line))
    except SystemExit as end:
        if end.code not in (0, None):
            raise
