"""The one vocabulary of states, used word for word in every message, table, JSON and report.

- A placement's offer: ``proposed`` (in a proposal nobody has approved) ->
  ``offered`` (the round was approved) -> ``accepted`` | ``declined`` (the
  candidate's answer) | ``released`` (the scheme withdrew the offer or the
  accepted placement, with a reason; the candidate goes back to the pool, not
  to that host).
- A round: ``proposal`` -> ``approved``. Only a proposal nobody approved becomes
  ``superseded`` (a later solve replaced it); an approved round stays
  ``approved`` for ever, unless its approval is revoked while none of its
  offers has an answer (it is then a ``proposal`` again).
- A candidate: ``active`` | ``withdrawn`` (out of every later solve, kept for
  the audit).
"""

from __future__ import annotations

from enum import StrEnum


class OfferState(StrEnum):
    PROPOSED = "proposed"
    OFFERED = "offered"
    ACCEPTED = "accepted"
    DECLINED = "declined"
    RELEASED = "released"


class RoundState(StrEnum):
    PROPOSAL = "proposal"
    APPROVED = "approved"
    SUPERSEDED = "superseded"


class CandidateState(StrEnum):
    ACTIVE = "active"
    WITHDRAWN = "withdrawn"


# Offers that hold a place: carried into the next round, counted against the host's places.
HOLDING = (OfferState.OFFERED, OfferState.ACCEPTED)
# Offers with the candidate's or the scheme's answer.
ANSWERED = (OfferState.ACCEPTED, OfferState.DECLINED, OfferState.RELEASED)
