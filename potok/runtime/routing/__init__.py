"""The route engine: published routes interpreted over documents.

``engine`` moves tokens through the graph (one transition = one transaction, the instance
row locked); ``tasks`` records people's decisions; ``executors`` says who does a step;
``actions`` runs automatic steps; ``deadlines`` and ``timers`` handle deadlines, reminders
and waits on the working ``calendar``; ``instances`` lets an administrator retry or cancel.
"""

from potok.runtime.routing.engine import Env, start
from potok.runtime.routing.instances import cancel, retry, timeline
from potok.runtime.routing.tasks import decide, delegate, reassign, resubmit
from potok.runtime.routing.timers import sweep_timers

__all__ = [
    "Env",
    "cancel",
    "decide",
    "delegate",
    "reassign",
    "resubmit",
    "retry",
    "start",
    "sweep_timers",
    "timeline",
]
