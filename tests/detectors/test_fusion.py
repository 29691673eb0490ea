"""Fusion rules: which verdict each combination of hash match and detector findings gives, and why."""

from __future__ import annotations

from typing import Any

import pytest

from takedown.detectors.base import Finding
from takedown.detectors.fusion import HashEvidence, finding_from_dict, fuse, role_of, strongest


def finding(detector: str, score: float | None, positive: bool, **details: Any) -> Finding:
    explanation = f"{detector} {score}"
    return Finding(detector, "test-1", score, positive, explanation, details, "" if score is not None else "no model")


COPY = HashEvidence(True, "pdq", 6, "Near-identical copy: PDQ distance 6 to registered file 1.")
FAR = HashEvidence(False, "pdq", 118, "unused")
FACE = finding("face", 0.91, True)
FACE_NO = finding("face", 0.2, False)
EXPLICIT = finding("explicit", 0.88, True)
EXPLICIT_NO = finding("explicit", 0.05, False)
AI = finding("provenance", 1.0, True)
AI_NO = finding("provenance", 0.0, False)


def test_a_hash_match_is_a_copy_whatever_the_detectors_say() -> None:
    fused = fuse(COPY, [FACE_NO, EXPLICIT_NO, AI])
    assert fused.verdict == "match"
    assert fused.reasons == (COPY.text, AI.explanation)
    assert not fused.needs_review


def test_face_and_explicit_without_hash_is_a_probable_forgery_for_review() -> None:
    fused = fuse(FAR, [FACE, EXPLICIT, AI_NO])
    assert fused.verdict == "probable_forgery"
    assert fused.needs_review
    assert fused.reasons[:2] == (FACE.explanation, EXPLICIT.explanation)
    assert fused.reasons[-1] == "No copy of the survivor's registered images (closest PDQ distance 118)."


def test_provenance_is_added_to_a_forgery_when_present() -> None:
    fused = fuse(None, [FACE, EXPLICIT, AI])
    assert fused.verdict == "probable_forgery"
    assert AI.explanation in fused.reasons
    assert fused.reasons[-1] == "No copy of the survivor's registered images (no hash to compare)."


def test_a_face_alone_is_a_possible_match_that_says_explicit_was_not_found() -> None:
    fused = fuse(FAR, [FACE, EXPLICIT_NO])
    assert fused.verdict == "possible_match"
    assert fused.reasons[:2] == (FACE.explanation, EXPLICIT_NO.explanation)
    assert fused.needs_review


def test_explicit_and_ai_declared_without_a_face_is_possible() -> None:
    fused = fuse(FAR, [EXPLICIT, AI, FACE_NO])
    assert fused.verdict == "possible_match"
    assert fused.reasons[:3] == (EXPLICIT.explanation, AI.explanation, FACE_NO.explanation)


@pytest.mark.parametrize(
    "findings",
    [
        [],
        [EXPLICIT],  # explicit content alone says nothing about who is shown
        [AI, FACE_NO, EXPLICIT_NO],
        [finding("face", None, False), finding("explicit", None, False)],  # detectors could not run
    ],
)
def test_nothing_to_go_on_is_no_match(findings: list[Finding]) -> None:
    assert fuse(FAR, findings).verdict == "no_match"
    assert fuse(FAR, findings).reasons == ()


def test_a_plugin_can_play_the_explicit_role() -> None:
    plugin = finding("onnx", 0.97, True, role="explicit")
    assert role_of(plugin) == "explicit"
    assert role_of(finding("onnx", 0.97, True)) == "synthetic"
    assert role_of(finding("onnx", 0.97, True, role="nonsense")) == "synthetic"
    assert fuse(FAR, [FACE, plugin]).verdict == "probable_forgery"


def test_a_failed_detector_never_counts_even_if_marked_positive() -> None:
    broken = Finding("face", "x", None, True, "face could not run", {}, "no model")
    assert fuse(FAR, [broken, EXPLICIT]).verdict == "no_match"


def test_stored_findings_round_trip_and_strongest_picks_the_highest_rank() -> None:
    stored = FACE.to_dict()
    assert finding_from_dict(stored) == FACE
    verdicts = [fuse(FAR, []), fuse(FAR, [FACE, EXPLICIT]), fuse(FAR, [FACE])]
    top = strongest(verdicts)
    assert top is not None and top.verdict == "probable_forgery"
    assert strongest([]) is None


def face_at(distance: float, *, problems: tuple[str, ...] = (), threshold: float = 0.5, review: float = 0.6) -> Finding:
    """A face finding as the face detector writes it (distance, thresholds, quality)."""
    return finding(
        "face",
        round(1 - distance, 4),
        distance <= threshold,
        distance=distance,
        threshold=threshold,
        review_threshold=review,
        quality={"width": 120, "sharpness": 300.0, "turn": 0.1, "detector": "hog", "problems": list(problems)},
    )


def test_face_evidence_is_weighed_from_the_distance() -> None:
    close = fuse(FAR, [face_at(0.45), EXPLICIT_NO])
    assert close.verdict == "possible_match" and close.evidence["face"] == 1.5
    at_threshold = fuse(FAR, [face_at(0.5)])
    assert at_threshold.verdict == "possible_match" and at_threshold.evidence["face"] == 1.0
    very_close = fuse(FAR, [face_at(0.1)])
    assert very_close.evidence["face"] == 2.0  # capped


def test_a_near_face_alone_is_no_match_but_explicit_content_or_declared_ai_can_lift_it() -> None:
    near = face_at(0.56)  # face evidence 0.4
    assert fuse(FAR, [near, EXPLICIT_NO]).verdict == "no_match"
    assert fuse(FAR, [near, EXPLICIT]).verdict == "no_match"  # 0.4 + 0.5 < 1
    assert fuse(FAR, [near, EXPLICIT, AI]).verdict == "possible_match"  # 0.4 + 0.5 + 0.5
    nearer = face_at(0.54)  # face evidence 0.6
    fused = fuse(FAR, [nearer, EXPLICIT])
    assert fused.verdict == "possible_match" and fused.needs_review
    assert fused.evidence == {"face": 0.6, "explicit": 1.0, "declared_ai": 0.0, "poor_face": 0.0, "total": 1.1}
    assert fused.reasons[:2] == (nearer.explanation, EXPLICIT.explanation)
    assert fused.reasons[2] == "Weighed evidence 1.10 (face 0.60 + 0.5 x explicit 1); review from 1."


def test_a_poor_face_within_the_review_distance_goes_to_review_instead_of_no_match() -> None:
    poor = face_at(0.58, problems=("small (40 px wide)",))
    fused = fuse(FAR, [poor, EXPLICIT_NO])
    assert fused.verdict == "possible_match" and fused.evidence["poor_face"] == 1.0
    assert "1 x poor face 1" in fused.reasons[1]
    assert fuse(FAR, [face_at(0.61, problems=("blurred (sharpness 12)",))]).verdict == "no_match"  # beyond review


@pytest.mark.parametrize("score", [0.3, 0.61, 0.8, 0.99, 1.0])
@pytest.mark.parametrize("far_face", [None, 0.61, 0.9])
def test_explicit_content_alone_never_moves_an_item(score: float, far_face: float | None) -> None:
    explicit = finding("explicit", score, True, margin=score - 0.5, label="explicit")
    findings = [explicit] if far_face is None else [explicit, face_at(far_face)]
    assert fuse(FAR, findings).verdict == "no_match"
    assert fuse(None, [*findings, AI_NO]).verdict == "no_match"
