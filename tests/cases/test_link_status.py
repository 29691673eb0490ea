"""The survivor's links in plain words (issue 19): one sentence per link for every combination of
the link's status and the removal request covering it, the link shown as host and path, request
states that agree with the links, and a top line that is true."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.utils import translation

from takedown.cases.models import Case, CaseStatus, ItemStatus
from takedown.cases.selectors import (
    RequestFacts,
    case_survivor_headline,
    item_status_sentence,
    item_where,
    request_status_sentence,
)
from takedown.notices.models import NoticeStatus


@pytest.fixture(autouse=True)
def _english() -> Iterator[None]:
    """The sentences are compared in English whatever language an earlier test left active."""
    with translation.override("en"):
        yield


DAY = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SENT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

# What a check found, said first (the request's sentence, if any, follows).
FOUND = {
    ItemStatus.REPORTED: "We have not checked this link yet.",
    ItemStatus.CHECKING: "We are checking this link now.",
    ItemStatus.LIVE: "We found a copy of your photo here.",
    ItemStatus.NO_MATCH: "We opened this page and did not find your photos there.",
    ItemStatus.UNREACHABLE: "We could not open this page.",
    ItemStatus.NEEDS_REVIEW: "We found a face here that may be yours. A person will look before anything is done.",
}
# What the request adds, by its status (draft and ready requests are not the survivor's news here).
REQUEST = {
    None: "",
    NoticeStatus.APPROVED: "A removal request is about to be sent.",
    NoticeStatus.QUEUED: "A removal request is about to be sent.",
    NoticeStatus.DELIVERY_FAILED: "We could not send the removal request yet. Your advocate will try again.",
    NoticeStatus.SENT: "We asked the website to remove it on 3 Dec and are waiting for an answer.",
    NoticeStatus.ACKNOWLEDGED: "The website has received our removal request and is looking at it.",
    NoticeStatus.NEEDS_INFO: "The website asked for more information. Your advocate will answer.",
    NoticeStatus.REJECTED: "The website refused to remove it. Your advocate will decide the next step.",
    NoticeStatus.REMOVED: None,  # replaces the check's sentence: see below
}


def facts(status: str | None, *, disputed: bool = False) -> RequestFacts | None:
    if status is None:
        return None
    return RequestFacts(status=status, sent_at=SENT, replied_at=DAY, removal_disputed=disputed)


@pytest.mark.parametrize(
    ("status", "request_status", "disputed"),
    list(itertools.product(ItemStatus.values, REQUEST, [False, True])),
)
def test_every_link_status_and_request_gives_one_plain_sentence(
    status: str, request_status: str | None, disputed: bool
) -> None:
    sentence = item_status_sentence(status=status, removed_at=DAY, request=facts(request_status, disputed=disputed))
    if status == ItemStatus.REMOVED:
        expected = "Removed on 7 Dec."
    elif request_status == NoticeStatus.REMOVED:
        expected = (
            "The website says it removed this, but our last check still found your photo here. Your advocate is"
            " following this up."
            if disputed
            else "The website says it removed this on 7 Dec. We are checking that it is gone."
        )
    else:
        expected = f"{FOUND[ItemStatus(status)]} {REQUEST[request_status]}".strip()
    assert sentence == expected
    assert "_" not in sentence  # never a raw code
    assert "Still online" not in sentence and "being checked" not in sentence.lower()


def test_a_note_from_the_check_says_why_a_page_could_not_be_read() -> None:
    note = "We could not read this page: the page asks visitors to sign in."
    assert item_status_sentence(status=ItemStatus.UNREACHABLE, note=note) == note
    assert (
        item_status_sentence(status=ItemStatus.UNREACHABLE, note=note, request=facts(NoticeStatus.SENT))
        == f"{note} {REQUEST[NoticeStatus.SENT]}"
    )
    # A note is about a page not read; a link found or removed since says that instead.
    assert item_status_sentence(status=ItemStatus.LIVE, note=note) == FOUND[ItemStatus.LIVE]


def test_a_removal_without_a_date_still_reads_well() -> None:
    assert item_status_sentence(status=ItemStatus.REMOVED) == "Removed."
    assert (
        item_status_sentence(status=ItemStatus.LIVE, request=RequestFacts(status="removed"))
        == "The website says it removed this. We are checking that it is gone."
    )


@pytest.mark.parametrize(
    ("url", "where"),
    [
        ("http://127.0.0.1:8000/v/1", "127.0.0.1/v/1"),
        ("http://127.0.0.1:8000/v/2", "127.0.0.1/v/2"),
        ("https://tube.example/watch?v=3", "tube.example/watch?v=3"),
        ("https://Pics.Example/", "pics.example"),
        ("https://user:secret@pics.example/p", "pics.example/p"),
        ("not a url", "not a url"),
        ("http://[::1/x", "http://[::1/x"),
    ],
)
def test_a_link_is_shown_as_host_and_path(url: str, where: str) -> None:
    assert item_where(url) == where


@pytest.mark.parametrize(
    ("request_status", "items_removed", "disputed", "expected"),
    [
        ("removed", True, False, "Removed."),
        ("removed", False, False, "The website says it removed it. We are checking."),
        ("removed", False, True, "The website says it removed it, but our last check still found it."),
        ("sent", False, False, "Sent. Waiting for an answer."),
        ("acknowledged", False, False, "The website is looking at it."),
        ("needs_info", False, False, "The website asked for more information."),
        ("rejected", False, False, "The website refused."),
        ("approved", False, False, "About to be sent."),
        ("queued", False, False, "About to be sent."),
        ("delivery_failed", False, False, "Not sent yet: your advocate will try again."),
    ],
)
def test_a_request_s_state_agrees_with_its_links(
    request_status: str, items_removed: bool, disputed: bool, expected: str
) -> None:
    request = RequestFacts(status=request_status, removal_disputed=disputed)
    assert request_status_sentence(request=request, items_removed=items_removed) == expected


CHECKING = "We have your case. We are still checking some of the links you gave us."
WAITING = "We have asked websites to remove your photos and are waiting for them to act."
FOUND_ALL = "Every check has finished. We found copies of your photos: each link below says what happens next."
NOTHING = "Every check has finished. Each link below says what we found."
RESOLVED = "Everything we know of has been removed. We keep checking in case it comes back."


@pytest.mark.parametrize(
    ("statuses", "requests", "expected"),
    [
        ([], [], "We have your case. You have not given us any links yet."),
        (["reported"], [], CHECKING),
        (["checking", "live"], [], CHECKING),
        (["live", "no_match"], [], FOUND_ALL),
        (["needs_review"], [], FOUND_ALL),
        (["no_match", "unreachable"], [], NOTHING),
        (["live"], ["sent"], WAITING),
        (["live", "removed"], ["acknowledged"], WAITING),
        (["live"], ["removed"], WAITING),  # the website says removed: not true until a check agrees
        (["live"], ["rejected"], FOUND_ALL),
        (["removed", "removed"], [], RESOLVED),
    ],
)
def test_the_top_line_is_true(statuses: list[str], requests: list[str], expected: str) -> None:
    case = Case(status=CaseStatus.OPEN)
    line = case_survivor_headline(case=case, statuses=statuses, requests=[RequestFacts(status=s) for s in requests])
    assert line == expected


def test_a_closed_or_withdrawn_case_says_so_whatever_its_links() -> None:
    for status, expected in [
        (CaseStatus.CLOSED, "This case is closed."),
        (CaseStatus.WITHDRAWN, "This case was withdrawn."),
    ]:
        assert case_survivor_headline(case=Case(status=status), statuses=["live"], requests=[]) == expected


def test_the_sentences_read_in_spanish() -> None:
    with translation.override("es"):
        assert item_status_sentence(status=ItemStatus.LIVE) == "Encontramos aquí una copia de tu foto."
        assert item_status_sentence(status=ItemStatus.REMOVED, removed_at=DAY).startswith("Retirado el 7")
        line = case_survivor_headline(case=Case(status=CaseStatus.OPEN), statuses=["reported"], requests=[])
        assert line.startswith("Hemos recibido tu caso. Todavía estamos comprobando")


def test_no_match_with_nothing_to_compare_says_so() -> None:
    """Without fingerprints or face templates a check compares nothing: never "did not find"."""
    sentence = item_status_sentence(status=ItemStatus.NO_MATCH, compared=False)
    assert sentence != FOUND[ItemStatus.NO_MATCH]
    assert sentence.startswith("We opened this page, but we had nothing to compare it with")
    # Every other status reads the same whether or not the case could compare.
    for status in (ItemStatus.LIVE, ItemStatus.REPORTED, ItemStatus.UNREACHABLE, ItemStatus.NEEDS_REVIEW):
        assert item_status_sentence(status=status, compared=False) == item_status_sentence(status=status)
