"""Fusion: one verdict per fetched medium from its hash match and its detector findings.

The order of trust is fixed. A hash match against the survivor's own registered images is
evidence on its own: an identical or near-identical copy. Detector scores are weak signals (open
deepfake detectors lose about half their accuracy on in-the-wild fakes), so a verdict reached
without a hash match is never grounds for a notice by itself: it asks a person to review it.

- ``match``: a registered hash matched (identical or near-identical copy).
- ``probable_forgery``: no hash match, but a face like the survivor's (their consented face
  templates) and explicit content: the shape of a sexual deepfake. Provenance that declares AI
  generation, or an operator's synthetic-media classifier, is added to the reasons when present.
- ``possible_match``: a face like the survivor's without explicit content, or explicit content
  declared or classified as AI-made without a face like theirs (a face may be hidden or turned).
- ``no_match``: nothing of the above.

Each verdict carries its reasons as sentences with numbers, in the order a reviewer needs them.
Which detector plays which part comes from its role (:data:`ROLE_OF_DETECTOR`, or the ``label``
an operator gives the ONNX plug-in, e.g. "explicit" for their own explicit-content classifier).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Literal

from takedown.detectors.base import Finding

Role = Literal["explicit", "face", "provenance", "synthetic", "other"]
FusedVerdict = Literal["match", "probable_forgery", "possible_match", "no_match"]

#: The part each shipped detector plays; a plug-in may say otherwise in ``details["role"]``.
ROLE_OF_DETECTOR: Final[Mapping[str, Role]] = {
    "explicit": "explicit",
    "face": "face",
    "provenance": "provenance",
    "onnx": "synthetic",
}
ROLES: Final = frozenset({"explicit", "face", "provenance", "synthetic", "other"})

#: Verdicts from strongest to weakest (a check's verdict is its strongest medium's).
RANK: Final[Mapping[str, int]] = {"match": 3, "probable_forgery": 2, "possible_match": 1, "no_match": 0}


@dataclass(frozen=True, slots=True)
class HashEvidence:
    """The closest registered hash for a medium: whether it matched, and how it reads in words."""

    matched: bool
    signal: str
    distance: int
    text: str


@dataclass(frozen=True, slots=True)
class Fused:
    verdict: FusedVerdict
    reasons: tuple[str, ...]

    @property
    def needs_review(self) -> bool:
        """Detector-only verdicts wait for a person; a hash match or nothing at all does not."""
        return self.verdict in {"probable_forgery", "possible_match"}


def role_of(finding: Finding) -> Role:
    """The part a finding plays: a plug-in's declared role or label (e.g. an operator's classifier
    labelled "explicit"), else the shipped detector's own."""
    details = finding.details if isinstance(finding.details, Mapping) else {}
    for declared in (details.get("role"), details.get("label")):
        if isinstance(declared, str) and declared in ROLES:
            return declared  # type: ignore[return-value]
    return ROLE_OF_DETECTOR.get(finding.detector, "other")


def finding_from_dict(data: Mapping[str, Any]) -> Finding:
    """A stored finding (see :meth:`Finding.to_dict`) back as a :class:`Finding`."""
    score = data.get("score")
    return Finding(
        detector=str(data.get("detector", "")),
        version=str(data.get("version", "")),
        score=float(score) if isinstance(score, int | float) else None,
        positive=bool(data.get("positive", False)),
        explanation=str(data.get("explanation", "")),
        details=dict(data.get("details") or {}),
        error=str(data.get("error", "")),
    )


def _positive(findings: Sequence[Finding], role: Role) -> list[Finding]:
    return [f for f in findings if f.ran and f.positive and role_of(f) == role]


def _best_score(findings: Sequence[Finding], role: Role) -> Finding | None:
    ran = [f for f in findings if f.ran and f.score is not None and role_of(f) == role]
    return max(ran, key=lambda f: f.score or 0.0, default=None)


def _no_hash_match(hash_evidence: HashEvidence | None) -> str:
    if hash_evidence is None:
        return "No copy of the survivor's registered images (no hash to compare)."
    closest = f"{hash_evidence.signal.upper()} distance {hash_evidence.distance}"
    return f"No copy of the survivor's registered images (closest {closest})."


def fuse(hash_evidence: HashEvidence | None, findings: Sequence[Finding]) -> Fused:
    """The verdict for one medium, with its reasons (see the module docstring for the rules)."""
    extras = _positive(findings, "provenance") + _positive(findings, "synthetic")
    extra_reasons = tuple(f.explanation for f in extras)
    if hash_evidence is not None and hash_evidence.matched:
        return Fused("match", (hash_evidence.text, *extra_reasons))

    faces = _positive(findings, "face")
    explicit = _positive(findings, "explicit")
    no_copy = _no_hash_match(hash_evidence)
    if faces and explicit:
        return Fused("probable_forgery", (faces[0].explanation, explicit[0].explanation, *extra_reasons, no_copy))
    if faces:
        best_explicit = _best_score(findings, "explicit")
        not_explicit = best_explicit.explanation if best_explicit is not None else "Explicit content was not assessed."
        return Fused("possible_match", (faces[0].explanation, not_explicit, *extra_reasons, no_copy))
    if explicit and extras:
        best_face = _best_score(findings, "face")
        face_note = (
            best_face.explanation
            if best_face is not None
            else "No face could be compared with the survivor's face templates."
        )
        return Fused("possible_match", (explicit[0].explanation, *extra_reasons, face_note, no_copy))
    return Fused("no_match", ())


def strongest(verdicts: Sequence[Fused]) -> Fused | None:
    """The strongest of several media's verdicts (a check's verdict), or None when there are none."""
    return max(verdicts, key=lambda v: RANK[v.verdict], default=None)
