"""The reference dialer client: how a dialer should consume leadpipe's ``call-ready`` topic.

Copy this when you integrate a dialer. It does five things, each in a few lines:

1. **Reads** ``call-ready`` from every partition (:class:`CallReadyFeed`). A dialer owns the hopper
   of the campaigns it works, so it reads the whole topic rather than sharing partitions in a
   consumer group: a group would give each dialer a slice of the numbers and the best offer of a
   campaign could sit in another dialer's slice. Records are keyed by ``phone_e164``, so a
   number's WITHDRAW always follows its READY in the same partition.
2. **Keeps a hopper** (:class:`Hopper`): highest ``priority`` first, ties in arrival order; a newer
   READY for the same lead replaces the older one; redelivered records (same ``event_id``) are
   ignored.
3. **Drops withdrawn offers**: a WITHDRAW drops the number's offer for its ``lead_id`` (every offer
   of the number when ``lead_id`` is empty). Never dials after ``callable_until``.
4. **Asks the dial-time check right before dialing** (:class:`DialCheckClient`), for the number,
   the campaign and the offer's lead, passing the id of the call it is about to make (``call_id``;
   here the event id its call outcome will carry). The answer is the state at that moment, so an
   opt-out that landed after the READY (and whose WITHDRAW the dialer has not read yet), or a lead
   closed since, still stops the call: the offer is dropped and counted with its reason. When no
   worker answers, nothing is dialed (fail closed). The worker puts every answer on the
   ``dial-check`` topic with that call id, so what the dialer was told before call C can be shown
   later (docs/compliance-walkthrough.md).
5. **Reports every call** through an :class:`OutcomeSink`: the gateway's ``POST /v1/call-outcomes``
   (:class:`HttpOutcomeSink`) or straight to the ``call-outcome`` topic (:class:`KafkaOutcomeSink`).
   An outcome that could not be delivered is kept and sent again: a lost DO_NOT_CALL is a lost
   opt-out.
6. **Keeps callback promises**: a READY with a ``callback`` goes to the agent who promised it when
   that agent is logged in (it waits for them while they are on another call), to any agent
   otherwise — and says which, with what was promised.

The calls themselves are simulated (:mod:`connectors.outcome_model`); pacing is a number of
calls per second and a talk time, against an injectable clock.

Read it in this order: ``feed`` (1), ``hopper`` (2, 3), ``dialcheck`` (4), ``sinks`` (5), ``client``
(the loop that ties them together, and 6), ``cli`` (``leadpipe dialer``, configured from the environment).
"""

from connectors.dialer.client import DialerClient, DialerStats
from connectors.dialer.dialcheck import DialCheckAnswer, DialCheckClient, DialCheckUnavailable
from connectors.dialer.feed import CallReadyFeed
from connectors.dialer.hopper import Hopper, Offer
from connectors.dialer.sinks import HttpOutcomeSink, KafkaOutcomeSink, OutcomeRejected, OutcomeSink

__all__ = [
    "CallReadyFeed",
    "DialCheckAnswer",
    "DialCheckClient",
    "DialCheckUnavailable",
    "DialerClient",
    "DialerStats",
    "Hopper",
    "HttpOutcomeSink",
    "KafkaOutcomeSink",
    "Offer",
    "OutcomeRejected",
    "OutcomeSink",
]
