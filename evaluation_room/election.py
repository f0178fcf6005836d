"""Online election of the committee leader (组长) by the members present.

A round closes when every elector has voted. A candidate with more than half of the electorate's
votes is elected. Otherwise the members vote once more; if the re-vote gives no majority either,
the candidate with the most votes in the re-vote is elected, and when several share the most
votes the configured rule picks one of them:

* ``lowest_alias``: the one with the lowest alias number (专家1 before 专家2);
* ``seeded_random``: ``sha256("<seed>|<sorted ids joined by ,>")`` read as a big-endian integer,
  modulo the number of tied candidates, indexes the tied ids sorted by alias number. The seed
  is a setting fixed before the session, so anyone can recompute the pick.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from enum import StrEnum

from evaluation_room.errors import AlreadySubmitted, InvalidInput, NotAllowed


class TieRule(StrEnum):
    """How a tie left after the re-vote is broken."""

    LOWEST_ALIAS = "lowest_alias"
    SEEDED_RANDOM = "seeded_random"


@dataclass
class ElectionRound:
    """One round of votes: voter id -> candidate id (secret until the round closes)."""

    number: int
    votes: dict[str, str] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)


@dataclass
class Election:
    """The state of a leader election over a fixed electorate (ids ordered by alias number)."""

    electorate: list[str]
    rounds: list[ElectionRound] = field(default_factory=lambda: [ElectionRound(1)])
    leader: str | None = None
    decided_by: str | None = None
    eligible: list[str] | None = None
    """Who may be elected (None: every elector); e.g. experts only where the purchaser's
    representative may not lead."""

    @property
    def current(self) -> ElectionRound:
        """The round that is open (or the last one, once decided)."""
        return self.rounds[-1]

    def cast(self, voter: str, candidate: str, rule: TieRule, seed: str) -> None:
        """Record one vote; close the round and decide when every elector has voted."""
        if self.leader is not None:
            raise NotAllowed("the leader is already elected")
        if voter not in self.electorate:
            raise NotAllowed("only members present at the start of the election vote")
        if candidate not in (self.electorate if self.eligible is None else self.eligible):
            raise InvalidInput("not an eligible candidate", fields={"candidate": "not eligible"})
        if voter in self.current.votes:
            raise AlreadySubmitted("you have already voted in this round")
        self.current.votes[voter] = candidate
        if len(self.current.votes) == len(self.electorate):
            self._close(rule, seed)

    def _close(self, rule: TieRule, seed: str) -> None:
        rnd = self.current
        counts = Counter(rnd.votes.values())
        rnd.counts = dict(sorted(counts.items()))
        top = max(counts.values())
        leaders = [c for c in self.electorate if counts.get(c, 0) == top]
        if top * 2 > len(self.electorate):
            self.leader, self.decided_by = leaders[0], "majority"
        elif rnd.number == 1:
            self.rounds.append(ElectionRound(2))
        elif len(leaders) == 1:
            self.leader, self.decided_by = leaders[0], "most_votes_after_revote"
        else:
            self.leader, self.decided_by = break_tie(leaders, rule, seed), rule.value


def break_tie(tied: list[str], rule: TieRule, seed: str) -> str:
    """Pick one of ``tied`` (ordered by alias number) by ``rule``; deterministic for a seed."""
    if not tied:
        raise ValueError("nobody to choose from")
    if rule is TieRule.LOWEST_ALIAS:
        return tied[0]
    digest = hashlib.sha256(f"{seed}|{','.join(sorted(tied))}".encode()).digest()
    return tied[int.from_bytes(digest, "big") % len(tied)]
