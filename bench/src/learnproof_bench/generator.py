"""A deterministic generator of realistic cmi5/SCORM-like xAPI statements (seeded)."""

from __future__ import annotations

import bisect
import itertools
import random
import uuid
from collections import deque
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

VOIDED = "http://adlnet.gov/expapi/verbs/voided"
CMI5_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/cmi5"
MOVEON_CATEGORY = "https://w3id.org/xapi/cmi5/context/categories/moveon"
SESSION_EXT = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
MASTERY_EXT = "https://w3id.org/xapi/cmi5/context/extensions/masteryscore"
LMS = "https://lms.learnproof.example"
COURSES = 20
ACTIVITIES_PER_COURSE = 50  # 20 courses x 50 AUs = 1,000 activities

# 30 verbs: ADL, cmi5 and SCORM-profile verbs, weighted roughly as real traffic is.
_VERB_NAMES: list[tuple[str, str, float]] = [
    ("http://adlnet.gov/expapi/verbs/experienced", "experienced", 12),
    ("http://adlnet.gov/expapi/verbs/attempted", "attempted", 8),
    ("http://adlnet.gov/expapi/verbs/answered", "answered", 14),
    ("http://adlnet.gov/expapi/verbs/completed", "completed", 6),
    ("http://adlnet.gov/expapi/verbs/passed", "passed", 5),
    ("http://adlnet.gov/expapi/verbs/failed", "failed", 2),
    ("http://adlnet.gov/expapi/verbs/initialized", "initialized", 8),
    ("http://adlnet.gov/expapi/verbs/terminated", "terminated", 7),
    ("http://adlnet.gov/expapi/verbs/launched", "launched", 6),
    ("http://adlnet.gov/expapi/verbs/progressed", "progressed", 9),
    ("http://adlnet.gov/expapi/verbs/scored", "scored", 3),
    ("http://adlnet.gov/expapi/verbs/suspended", "suspended", 2),
    ("http://adlnet.gov/expapi/verbs/resumed", "resumed", 2),
    ("http://adlnet.gov/expapi/verbs/interacted", "interacted", 4),
    ("http://adlnet.gov/expapi/verbs/commented", "commented", 0.5),
    ("http://adlnet.gov/expapi/verbs/asked", "asked", 0.5),
    ("http://adlnet.gov/expapi/verbs/mastered", "mastered", 1),
    ("http://adlnet.gov/expapi/verbs/preferred", "preferred", 0.3),
    ("http://adlnet.gov/expapi/verbs/registered", "registered", 1),
    ("http://adlnet.gov/expapi/verbs/imported", "imported", 0.2),
    ("http://adlnet.gov/expapi/verbs/exited", "exited", 1),
    ("http://adlnet.gov/expapi/verbs/logged-in", "logged-in", 1),
    ("http://adlnet.gov/expapi/verbs/logged-out", "logged-out", 1),
    ("http://adlnet.gov/expapi/verbs/shared", "shared", 0.2),
    ("http://adlnet.gov/expapi/verbs/responded", "responded", 1),
    ("http://adlnet.gov/expapi/verbs/satisfied", "satisfied", 1),
    ("https://w3id.org/xapi/adl/verbs/waived", "waived", 0.2),
    ("https://w3id.org/xapi/adl/verbs/abandoned", "abandoned", 0.5),
    ("https://w3id.org/xapi/video/verbs/played", "played", 3),
    ("https://w3id.org/xapi/video/verbs/paused", "paused", 2),
]
VERBS = [(vid, {"en-US": name, "de-DE": name}) for vid, name, _ in _VERB_NAMES]
VERB_WEIGHTS = list(itertools.accumulate(w for _, _, w in _VERB_NAMES))
_SCORED = {"answered", "passed", "failed", "scored", "completed", "mastered"}

_WORDS = [
    "ethics",
    "model",
    "risk",
    "data",
    "bias",
    "audit",
    "governance",
    "transparency",
    "oversight",
    "safety",
    "privacy",
    "fairness",
    "accountability",
    "documentation",
    "monitoring",
    "incident",
    "deployment",
    "evaluation",
    "robustness",
    "human",
    "review",
    "logging",
    "consent",
    "purpose",
    "limitation",
    "training",
    "dataset",
    "provenance",
]


def _zipf_cum(n: int, s: float) -> list[float]:
    return list(itertools.accumulate(1.0 / (rank**s) for rank in range(1, n + 1)))


class StatementGenerator:
    """Yields statements from a seed; the same seed and call sequence give the same statements.

    Actors follow a Zipf law (rank 1 is the hot learner), activities a milder one (the hot
    activity is AU 0 of course 0). Half of the statements carry a client-supplied id; about 1%
    are voiding statements targeting an earlier client-id statement of the same stream.
    """

    def __init__(
        self,
        seed: int = 7,
        *,
        actors: int = 20_000,
        start: datetime = datetime(2025, 1, 1, tzinfo=UTC),
        void_rate: float = 0.01,
        id_rate: float = 0.5,
    ) -> None:
        self.rng = random.Random(seed)
        self.actors = actors
        self.start = start
        self.void_rate = void_rate
        self.id_rate = id_rate
        self._actor_cum = _zipf_cum(actors, 1.07)
        self._activity_cum = _zipf_cum(COURSES * ACTIVITIES_PER_COURSE, 0.6)
        self._recent_ids: deque[str] = deque(maxlen=2000)
        self._days = [(start + timedelta(days=d)).strftime("%Y-%m-%dT") for d in range(366)]
        self._definitions: dict[int, dict[str, Any]] = {}
        self._registrations: dict[tuple[int, int], str] = {}
        self._voided: set[str] = set()
        self.count = 0

    # --- the vocabulary ---------------------------------------------------------------------

    @staticmethod
    def actor(rank: int) -> dict[str, Any]:
        """The Agent of actor `rank` (1 = the hottest): accounts mostly, some mailboxes."""
        if rank % 4 == 0:
            return {
                "objectType": "Agent",
                "name": f"Learner {rank}",
                "mbox": f"mailto:learner{rank}@corp.example",
            }
        return {
            "objectType": "Agent",
            "name": f"Learner {rank}",
            "account": {"homePage": LMS, "name": f"u{rank:07d}"},
        }

    @staticmethod
    def actor_key(rank: int) -> str:
        """The LRS's agent index key of actor `rank` (what `agent=` queries match)."""
        if rank % 4 == 0:
            return f"mbox:mailto:learner{rank}@corp.example"
        return f"account:{LMS}|u{rank:07d}"

    @staticmethod
    def course_id(course: int) -> str:
        return f"{LMS}/courses/c{course:03d}"

    @staticmethod
    def activity_id(index: int) -> str:
        course, au = divmod(index, ACTIVITIES_PER_COURSE)
        return f"{LMS}/courses/c{course:03d}/au/{au:03d}"

    def _definition(self, index: int) -> dict[str, Any]:
        course, au = divmod(index, ACTIVITIES_PER_COURSE)
        words = [_WORDS[(index * 7 + k * 3) % len(_WORDS)] for k in range(12)]
        return {
            "name": {"en-US": f"Course {course} unit {au}: {words[0]} and {words[1]}"},
            "description": {"en-US": "Covers " + ", ".join(words) + "."},
            "type": "https://w3id.org/xapi/cmi5/activitytype/block"
            if au % 10 == 0
            else "http://adlnet.gov/expapi/activities/lesson",
        }

    # --- statements -------------------------------------------------------------------------

    def _int(self, n: int) -> int:
        """A number in [0, n) (random.randrange is several times slower)."""
        return int(self.rng.random() * n)

    def _uuid(self) -> str:
        """A random (version 4) UUID drawn from the seeded generator."""
        h = f"{self.rng.getrandbits(128):032x}"
        variant = "89ab"[int(h[16], 16) & 3]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"

    def _timestamp(self) -> str:
        """A time in the year after `start`, millisecond precision, UTC."""
        day, ms = divmod(self._int(365 * 86_400_000), 86_400_000)
        seconds, ms = divmod(ms, 1000)
        minutes, seconds = divmod(seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return f"{self._days[day]}{hours:02d}:{minutes:02d}:{seconds:02d}.{ms:03d}Z"

    def definition(self, index: int) -> dict[str, Any]:
        """The (shared, read-only) definition of activity `index`."""
        found = self._definitions.get(index)
        if found is None:
            found = self._definitions[index] = self._definition(index)
        return found

    def _registration(self, rank: int, course: int) -> str:
        found = self._registrations.get((rank, course))
        if found is None:
            found = str(uuid.uuid5(uuid.NAMESPACE_URL, f"{rank}/{course}"))
            self._registrations[(rank, course)] = found
        return found

    def statement(self) -> dict[str, Any]:
        """The next statement of the stream."""
        self.count += 1
        rng = self.rng
        if self._recent_ids and rng.random() < self.void_rate:
            target = self._recent_ids.popleft()
            if target not in self._voided:
                self._voided.add(target)
                return self._voiding(target)
        rank = bisect.bisect_left(self._actor_cum, rng.random() * self._actor_cum[-1]) + 1
        activity = bisect.bisect_left(self._activity_cum, rng.random() * self._activity_cum[-1])
        verb_index = bisect.bisect_left(VERB_WEIGHTS, rng.random() * VERB_WEIGHTS[-1])
        verb_id, display = VERBS[verb_index]
        course = activity // ACTIVITIES_PER_COURSE
        registration = self._registration(rank, course)
        statement: dict[str, Any] = {
            "actor": self.actor(rank),
            "verb": {"id": verb_id, "display": display},
            "object": {
                "objectType": "Activity",
                "id": self.activity_id(activity),
                "definition": self.definition(activity),
            },
            "context": {
                "registration": registration,
                "platform": "Learnproof Player 3.2",
                "language": "en-US",
                "contextActivities": {
                    "parent": [{"id": self.course_id(course) + f"/block/{activity % 5}"}],
                    "grouping": [{"id": self.course_id(course)}],
                    "category": [{"id": CMI5_CATEGORY}]
                    + ([{"id": MOVEON_CATEGORY}] if rng.random() < 0.3 else []),
                },
                "extensions": {
                    SESSION_EXT: self._uuid(),
                    MASTERY_EXT: 0.8,
                },
            },
            "timestamp": self._timestamp(),
        }
        if rng.random() < 0.1:
            statement["context"]["instructor"] = self.actor((1 + self._int(199)) * 4)
        verb_name = display["en-US"]
        duration = f"PT{self._int(90)}M{self._int(60)}.{self._int(100)}S"
        result: dict[str, Any] = {"duration": duration}
        if verb_name in _SCORED or rng.random() < 0.3:
            scaled = round(rng.random(), 3)
            result["score"] = {"scaled": scaled, "raw": round(scaled * 100), "min": 0, "max": 100}
            result["success"] = scaled >= 0.8
        if verb_name in ("completed", "passed", "terminated"):
            result["completion"] = True
        if verb_name == "answered":
            words = [_WORDS[self._int(len(_WORDS))] for _ in range(3 + self._int(37))]
            result["response"] = " ".join(words)
            result["extensions"] = {f"{LMS}/ext/attempt": 1 + self._int(3)}
        statement["result"] = result
        if rng.random() < self.id_rate:
            sid = self._uuid()
            statement["id"] = sid
            self._recent_ids.append(sid)
        return statement

    def _voiding(self, target: str) -> dict[str, Any]:
        return {
            "id": self._uuid(),
            "actor": {
                "objectType": "Agent",
                "name": "LMS administrator",
                "account": {"homePage": LMS, "name": "admin"},
            },
            "verb": {"id": VOIDED, "display": {"en-US": "voided"}},
            "object": {"objectType": "StatementRef", "id": target},
            "timestamp": self._timestamp(),
        }

    def batch(self, size: int) -> list[dict[str, Any]]:
        return [self.statement() for _ in range(size)]

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while True:
            yield self.statement()


class Recycler:
    """A cheap, deterministic stream made from a generated pool: statements come round again
    with fresh client ids (and voiding statements retarget the fresh ids), so a load generator
    can prepare minutes of traffic in a fraction of the generator's time."""

    def __init__(self, pool: list[dict[str, Any]], seed: int = 7) -> None:
        self.pool = pool
        self.rng = random.Random(seed)
        self.position = 0
        self._fresh: dict[str, str] = {}  # pool id -> id of its latest copy

    def _uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        variant = "89ab"[int(h[16], 16) & 3]
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"

    def statement(self) -> dict[str, Any]:
        template = self.pool[self.position % len(self.pool)]
        self.position += 1
        statement = dict(template)
        if "id" in template:
            statement["id"] = self._uuid()
            self._fresh[template["id"]] = statement["id"]
        if template["verb"]["id"] == VOIDED:
            target = self._fresh.pop(template["object"]["id"], None)
            if target is None:
                # its target has not come round in this cycle: send a fresh plain statement
                return self.statement()
            statement["object"] = {"objectType": "StatementRef", "id": target}
        return statement

    def batch(self, size: int) -> list[dict[str, Any]]:
        return [self.statement() for _ in range(size)]
