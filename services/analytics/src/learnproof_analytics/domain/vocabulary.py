"""The xAPI, cmi5, SCORM-profile and video-profile IRIs the analytics understands."""

from __future__ import annotations

from typing import Final

CMI5_SESSION_ID: Final = "https://w3id.org/xapi/cmi5/context/extensions/sessionid"
ASSESSMENT_ACTIVITY_TYPE: Final = "http://adlnet.gov/expapi/activities/assessment"
ASSESSMENT_TYPE_EXTENSION: Final = "http://id.tincanapi.com/extension/assessment-type"
VIDEO_PROGRESS_EXTENSION: Final = "https://w3id.org/xapi/video/extensions/progress"
VOIDED_VERB: Final = "http://adlnet.gov/expapi/verbs/voided"

# Verbs are normalised to a short kind by their last path segment, but only under the prefixes
# whose vocabularies we know, so a stranger's ".../completed" does not count as a completion.
KNOWN_VERB_PREFIXES: Final = (
    "http://adlnet.gov/expapi/verbs/",
    "https://w3id.org/xapi/adl/verbs/",
    "https://w3id.org/xapi/scorm/verbs/",
    "https://w3id.org/xapi/video/verbs/",
)
KNOWN_VERB_KINDS: Final = frozenset(
    {
        "launched",
        "initialized",
        "completed",
        "passed",
        "failed",
        "terminated",
        "satisfied",
        "waived",
        "abandoned",
        "attempted",
        "experienced",
        "answered",
        "progressed",
        "scored",
        "suspended",
        "resumed",
        "exited",
        "played",
        "paused",
        "seeked",
        "voided",
    }
)
SESSION_ENDING_KINDS: Final = frozenset({"terminated", "abandoned"})
COMPLETION_KINDS: Final = frozenset({"completed"})


def verb_kind(verb_iri: str) -> str:
    """Short name of a known verb (``completed``), or ``other``."""
    for prefix in KNOWN_VERB_PREFIXES:
        if verb_iri.startswith(prefix):
            tail = verb_iri[len(prefix) :]
            if tail in KNOWN_VERB_KINDS:
                return tail
    return "other"
