"""Running hypothesis state machines as test cases: one per flag set, fast and slow.

>>> from hypothesis.stateful import RuleBasedStateMachine
>>> class M(RuleBasedStateMachine):
...     FLAGS = 0
>>> tc = machine_case(M, 1, {"max_examples": 5}, slow=True)
>>> tc.settings.max_examples, [m.name for m in tc.pytestmark]
(5, ['slow'])
"""
from __future__ import annotations

from typing import Any

import pytest
from hypothesis import settings


def machine_case(machine: type, flags: int, cfg: dict[str, Any], slow: bool,
                 **extra: Any) -> Any:
    """The ``TestCase`` of a subclass of ``machine`` with ``FLAGS = flags``, run
    with settings ``cfg`` (no deadline: structure checks vary a lot in time)
    and ``extra``; ``slow`` marks it for the exhaustive runs (``-m slow``)."""
    cls = type(f"{machine.__name__}F{flags}{'Slow' if slow else ''}", (machine,),
               {"FLAGS": flags})
    tc = cls.TestCase
    tc.settings = settings(**cfg, deadline=None, **extra)
    if slow:
        tc.pytestmark = [pytest.mark.slow]
    return tc
