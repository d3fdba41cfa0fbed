"""Child processes that end with the process that started them.

A load run or bench starts servers and Locust as children and stops them in `finally`; a parent that is itself
SIGKILLed (a test's timeout, an operator's kill -9) runs no `finally`, and its children would go on serving on
loopback for ever. Linux can send a child a signal when its parent dies (prctl PR_SET_PDEATHSIG): SIGTERM, so a
server still shuts down cleanly. Elsewhere this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import sys
from collections.abc import Callable

PR_SET_PDEATHSIG = 1


def die_with_parent(also: Callable[[], None] | None = None) -> Callable[[], None]:
    """A `preexec_fn` for subprocess.Popen: the child gets SIGTERM when the process that started it dies."""
    parent = os.getpid()

    def preexec() -> None:
        if sys.platform.startswith("linux"):
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
            libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
            if os.getppid() != parent:  # the parent died before prctl took effect
                os._exit(1)
        if also is not None:
            also()

    return preexec
