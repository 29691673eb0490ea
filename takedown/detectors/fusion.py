"""Fusion: one verdict per fetched medium from its hash match and its detector findings.

A hash match against the survivor's own registered images is evidence on its own: an identical
or near-identical copy. Everything else is weighed. Detector scores are weak signals (open
deepfake detectors lose about half their accuracy on in-the-wild fakes), so a verdict reached
without a hash match is never grounds for a notice by itself: it asks a person to review it.

What is weighed, each as a number a reviewer can read back:

- **face**: how close the closest face is to the survivor's templates. 1 at the match distance
  (``threshold``), 0 at the review distance (``review_threshold``), linear in between, and more
  than 1 for closer faces (capped at 2). It is the only evidence of *who* is shown.
- **explicit**: 1 when an exposed intimate body part reached its label's threshold, else 0.
- **declared AI**: 1 when provenance declares AI generation or the operator's synthetic-media
  classifier fired, else 0.
- **poor face**: 1 when the closest face is small, blurred or turned (its distance is less
  reliable, so "no match" would claim too much), else 0.

Verdicts:

- ``match``: a registered hash matched (identical or near-identical copy).
- ``probable_forgery``: no hash match, face >= 1 (the survivor's face) and explicit content or
  declared AI: the shape of a sexual deepfake.
- ``possible_match``: face >= 1 alone; or a face within the review distance (0 < face < 1) whose
  weighed evidence ``face + 0.5 x explicit + 0.5 x declared AI + 1 x poor face`` reaches 1; or
  explicit content that is also declared AI-made, with no face like the survivor's (a face may be
  hidden or turned).
- ``no_match``: anything else. Explicit content alone never moves an item, whatever its score: it
  says nothing about who is shown.

Each verdict carries its reasons as sentences with numbers, in the order a reviewer needs them,
and the weighed numbers themselves (``Fused.evidence``). Which detector plays which part comes from
its role (:data:`ROLE_OF_DETECTOR`, or the ``label`` an operator gives the ONNX plug-in, e.g.
"explicit" for their own explicit-content classifier).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
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

#: How much each kind of support adds to a near face's evidence; a review needs a total of 1.
WEIGHTS: Final[Mapping[str, float]] = {"face": 1.0, "explicit": 0.5, "declared_ai": 0.5, "poor_face": 1.0}
REVIEW_AT: Final = 1.0
#: Face evidence is capped so one very close face cannot be read as more than twice a match.
MAX_FACE: Final = 2.0


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
    #: The weighed numbers (face, explicit, declared_ai, poor_face, total) when detectors spoke.
    evidence: Mapping[str, float] = field(default_factory=dict)

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


def _ran(findings: Sequence[Finding], role: Role) -> list[Finding]:
    return [f for f in findings if f.ran and f.score is not None and role_of(f) == role]


def _number(details: Mapping[str, Any], key: str) -> float | None:
    value = details.get(key)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


@dataclass(frozen=True)
class _Face:
    finding: Finding
    strength: float
    poor: bool

    @property
    def sentence(self) -> str:
        return self.finding.explanation


def _face(findings: Sequence[Finding]) -> _Face | None:
    """The strongest face finding as evidence, or None when no face could be compared."""
    best: _Face | None = None
    for finding in _ran(findings, "face"):
        details = finding.details if isinstance(finding.details, Mapping) else {}
        distance = _number(details, "distance")
        threshold = _number(details, "threshold")
        review = _number(details, "review_threshold")
        quality = details.get("quality")
        problems = quality.get("problems") if isinstance(quality, Mapping) else None
        if distance is None or threshold is None:
            # A face finding without distances (an operator's own face detector): trust its decision.
            strength = 1.0 if finding.positive else 0.0
        else:
            review = max(review if review is not None else threshold, threshold)
            if review == threshold:
                strength = 1.0 if distance <= threshold else 0.0
            else:
                strength = min(MAX_FACE, max(0.0, (review - distance) / (review - threshold)))
        candidate = _Face(finding, round(strength, 3), isinstance(problems, list) and bool(problems))
        if best is None or candidate.strength > best.strength:
            best = candidate
    return best


def _no_hash_match(hash_evidence: HashEvidence | None) -> str:
    if hash_evidence is None:
        return "No copy of the survivor's registered images (no hash to compare)."
    closest = f"{hash_evidence.signal.upper()} distance {hash_evidence.distance}"
    return f"No copy of the survivor's registered images (closest {closest})."


def _weighed(parts: Mapping[str, float], total: float) -> str:
    terms = [f"face {parts['face']:.2f}"]
    for key, words in (("explicit", "explicit"), ("declared_ai", "declared AI"), ("poor_face", "poor face")):
        if parts[key]:
            terms.append(f"{WEIGHTS[key]:g} x {words} {parts[key]:g}")
    return f"Weighed evidence {total:.2f} ({' + '.join(terms)}); review from {REVIEW_AT:g}."


def fuse(hash_evidence: HashEvidence | None, findings: Sequence[Finding]) -> Fused:
    """The verdict for one medium, with its reasons (see the module docstring for the rules)."""
    declared = [f for f in findings if f.ran and f.positive and role_of(f) in ("provenance", "synthetic")]
    declared_reasons = tuple(f.explanation for f in declared)
    if hash_evidence is not None and hash_evidence.matched:
        return Fused("match", (hash_evidence.text, *declared_reasons))

    explicit_ran = _ran(findings, "explicit")
    explicit = [f for f in explicit_ran if f.positive]
    best_explicit = max(explicit_ran, key=lambda f: f.score or 0.0, default=None)
    face = _face(findings)
    parts = {
        "face": face.strength if face else 0.0,
        "explicit": 1.0 if explicit else 0.0,
        "declared_ai": 1.0 if declared else 0.0,
        "poor_face": 1.0 if face is not None and face.poor and 0 < face.strength < 1 else 0.0,
    }
    total = round(sum(WEIGHTS[k] * v for k, v in parts.items()), 3)
    evidence = {**parts, "total": total}
    no_copy = _no_hash_match(hash_evidence)
    explicit_sentence = (
        explicit[0].explanation
        if explicit
        else (best_explicit.explanation if best_explicit else "Explicit content was not assessed.")
    )

    if face is not None and face.strength >= 1:
        if explicit or declared:
            support = ((explicit[0].explanation,) if explicit else ()) + declared_reasons
            return Fused("probable_forgery", (face.sentence, *support, no_copy), evidence)
        return Fused("possible_match", (face.sentence, explicit_sentence, no_copy), evidence)
    if face is not None and face.strength > 0 and total >= REVIEW_AT:
        support = ((explicit[0].explanation,) if explicit else ()) + declared_reasons
        return Fused("possible_match", (face.sentence, *support, _weighed(parts, total), no_copy), evidence)
    if explicit and declared:
        face_note = face.sentence if face else "No face could be compared with the survivor's face templates."
        return Fused("possible_match", (explicit[0].explanation, *declared_reasons, face_note, no_copy), evidence)
    return Fused("no_match", (), evidence if (face is not None or explicit_ran) else {})


def strongest(verdicts: Sequence[Fused]) -> Fused | None:
    """The strongest of several media's verdicts (a check's verdict), or None when there are none."""
    return max(verdicts, key=lambda v: RANK[v.verdict], default=None)
