"""The claim lifecycle: every allowed status change, written once (pure, no Django).

A claim's status changes only through ``transition(status, action)``; the services ask
it (``services.review.claim_transition``) for every change, whichever interface asks
(API, UI, admin, management commands), and the database backs the decided states with a
check constraint (a resolved or published claim points at its current consensus).

    in_review --decide_disputed--> disputed --adjudicate / decide_resolved--> resolved
    in_review --decide_resolved--> resolved --publish--> published
    resolved --reopen--> disputed;  resolved --decide_disputed--> disputed
    in_review, disputed, resolved --revise--> in_review  (a new claim version)
    in_review, disputed, resolved --withdraw--> withdrawn (final)
    published, corrected --correct--> corrected
    published, corrected --retract--> retracted (final)

Published claims are never edited, revised or reopened in place: what readers saw is a
publication version, and a change is a new version (a correction, or a retraction),
written by ``services.publishing``. Corrected claims count as decided (their current
consensus is the published rating); a retracted claim keeps its record but leaves the
feed.
"""

from __future__ import annotations

from collections import deque
from enum import StrEnum


class Status(StrEnum):
    IN_REVIEW = "in_review"
    DISPUTED = "disputed"
    RESOLVED = "resolved"
    PUBLISHED = "published"
    CORRECTED = "corrected"
    RETRACTED = "retracted"
    WITHDRAWN = "withdrawn"


class Action(StrEnum):
    DECIDE_RESOLVED = "decide_resolved"  # the project's rule reached consensus
    DECIDE_DISPUTED = "decide_disputed"  # the required verdicts are in, no consensus
    ADJUDICATE = "adjudicate"  # an editor decides a disputed claim
    PUBLISH = "publish"
    REOPEN = "reopen"
    REVISE = "revise"  # an editor records a new claim version: back to review
    WITHDRAW = "withdraw"
    CORRECT = "correct"  # a published fact check gets a new version (rating and/or wording)
    RETRACT = "retract"  # a published fact check is withdrawn from publication, with a notice


INITIAL = Status.IN_REVIEW

# (from, action) -> to. The only place a status change is allowed.
TRANSITIONS: dict[tuple[Status, Action], Status] = {
    (Status.IN_REVIEW, Action.DECIDE_RESOLVED): Status.RESOLVED,
    (Status.IN_REVIEW, Action.DECIDE_DISPUTED): Status.DISPUTED,
    (Status.IN_REVIEW, Action.REVISE): Status.IN_REVIEW,
    (Status.IN_REVIEW, Action.WITHDRAW): Status.WITHDRAWN,
    (Status.DISPUTED, Action.DECIDE_RESOLVED): Status.RESOLVED,
    (Status.DISPUTED, Action.ADJUDICATE): Status.RESOLVED,
    (Status.DISPUTED, Action.REVISE): Status.IN_REVIEW,
    (Status.DISPUTED, Action.WITHDRAW): Status.WITHDRAWN,
    (Status.RESOLVED, Action.PUBLISH): Status.PUBLISHED,
    (Status.RESOLVED, Action.REOPEN): Status.DISPUTED,
    (Status.RESOLVED, Action.DECIDE_DISPUTED): Status.DISPUTED,
    (Status.RESOLVED, Action.REVISE): Status.IN_REVIEW,
    (Status.RESOLVED, Action.WITHDRAW): Status.WITHDRAWN,
    (Status.PUBLISHED, Action.CORRECT): Status.CORRECTED,
    (Status.PUBLISHED, Action.RETRACT): Status.RETRACTED,
    (Status.CORRECTED, Action.CORRECT): Status.CORRECTED,
    (Status.CORRECTED, Action.RETRACT): Status.RETRACTED,
}

# States that rest on a current consensus record (the database refuses them without one).
DECIDED = frozenset({Status.RESOLVED, Status.PUBLISHED, Status.CORRECTED})
# States with no current consensus (a decision ends them).
UNDECIDED = frozenset({Status.IN_REVIEW, Status.DISPUTED})
FINAL = frozenset({Status.WITHDRAWN, Status.RETRACTED})
# States with at least one publication version (a public page exists).
PUBLIC = frozenset({Status.PUBLISHED, Status.CORRECTED, Status.RETRACTED})
# States whose latest publication version is in the feed and the ClaimReview export.
IN_FEED = frozenset({Status.PUBLISHED, Status.CORRECTED})

_MESSAGES: dict[Action, str] = {
    Action.ADJUDICATE: "Only disputed claims are adjudicated",
    Action.PUBLISH: "Only resolved claims can be published",
    Action.REOPEN: "Only resolved claims can be reopened (a published one is corrected instead)",
    Action.CORRECT: "Only published or corrected claims can be corrected",
    Action.RETRACT: "Only published or corrected claims can be retracted",
    Action.WITHDRAW: "Only claims in review, disputed or resolved can be withdrawn",
    Action.REVISE: "Only claims in review, disputed or resolved can be revised",
    Action.DECIDE_RESOLVED: "Consensus is decided only for claims in review or disputed",
    Action.DECIDE_DISPUTED: "A claim becomes disputed only from review or a resolution",
}

PUBLISHED_IS_FINAL_TEXT = (
    "This claim is published: it is never edited, revised or re-anchored in place; "
    "corrections come through the publishing workflow."
)


_ACTIONS = frozenset(a.value for a in Action)


class TransitionRefused(Exception):
    """The action is not allowed from the status (HTTP 409)."""

    def __init__(self, status: str, action: str) -> None:
        self.status = status
        self.action = action
        reason = (
            _MESSAGES.get(Action(action), "Not allowed") if action in _ACTIONS else "Unknown action"
        )
        label = status.replace("_", " ")
        if status == Status.PUBLISHED and action == Action.REVISE:
            message = PUBLISHED_IS_FINAL_TEXT
        else:
            message = f"{reason}; this claim is {label}."
        super().__init__(message)


def allowed(status: str, action: str) -> bool:
    """Whether ``action`` may be taken on a claim in ``status``."""
    try:
        return (Status(status), Action(action)) in TRANSITIONS
    except ValueError:
        return False


def transition(status: str, action: str) -> Status:
    """The status a claim in ``status`` reaches by ``action``; TransitionRefused otherwise."""
    try:
        return TRANSITIONS[(Status(status), Action(action))]
    except (KeyError, ValueError):
        raise TransitionRefused(status, action) from None


def actions_from(status: str) -> list[Action]:
    """The actions allowed from ``status``, in table order."""
    return [action for (source, action) in TRANSITIONS if source == status]


def reachable(start: Status = INITIAL) -> frozenset[Status]:
    """Every status reachable from ``start`` through the table."""
    seen = {start}
    todo = deque([start])
    while todo:
        here = todo.popleft()
        for (source, _), target in TRANSITIONS.items():
            if source == here and target not in seen:
                seen.add(target)
                todo.append(target)
    return frozenset(seen)


def path_to(target: str, start: Status = INITIAL) -> list[Action] | None:
    """The shortest list of actions from ``start`` to ``target`` (None if unreachable):
    how an import replays a claim's recorded status through the table."""
    try:
        goal = Status(target)
    except ValueError:
        return None
    paths: dict[Status, list[Action]] = {start: []}
    todo = deque([start])
    while todo:
        here = todo.popleft()
        if here == goal:
            return paths[here]
        for (source, action), next_status in TRANSITIONS.items():
            if source == here and next_status not in paths:
                paths[next_status] = [*paths[here], action]
                todo.append(next_status)
    return None


def needs_consensus(status: str) -> bool:
    """Whether a claim in ``status`` must point at a current consensus record."""
    return status in DECIDED
