"""Notice validation on arbitrary advocate text: clear errors only, and text cannot fake or hide elements.

What the advocate types (`notice_edit`: additional facts, the DMCA work) ends up in a legal
notice. Whatever it is, editing answers with `InvalidInput`/`Conflict` or saves; the notice then
renders; the typed text appears in the plain-text notice and is escaped in the HTML one; and
`notice_validate` reports the same missing elements as before (typed text neither completes nor
breaks a notice). Separately, removing any required element's value from the rendered text makes
`context_missing` name that element, whatever other text surrounds it.
"""

from __future__ import annotations

import html
import re

import pytest
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from takedown.core.access import Actor
from takedown.core.errors import Conflict, InvalidInput
from takedown.notices.models import Notice
from takedown.notices.rendering import notice_context, render_context, render_notice
from takedown.notices.services import notice_draft, notice_edit, notice_mark_ready
from takedown.notices.validation import _appears, context_missing, notice_validate
from takedown.organizations.models import Organization
from tests.cases.conftest import org_a  # noqa: F401 - fixture
from tests.fuzz.conftest import examples, tried
from tests.notices.conftest import open_case, registry  # noqa: F401 - fixtures

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("registry")]

STAFF = Actor(kind="staff", mfa_verified=True)

#: Text an advocate might paste: anything, plus the shapes that break renderers.
typed_text = st.one_of(
    st.text(max_size=300),
    st.lists(st.sampled_from([*"<>&\"'{}%#\n\r\t \\/a", "{{", "}}", "{%", "%}", "<script>"]), max_size=30).map("".join),
    st.sampled_from(["{{ notice.case.reference }}", "{% debug %}", "<script>alert(1)</script>", "\x00", "\u202e"]),
    st.text(min_size=4990, max_size=5010, alphabet="ab\n"),
)


@pytest.fixture
def notice(org_a: Organization) -> Notice:  # noqa: F811 - the fixture imported above
    org_a.notice_contact_email = "notices@helpline.example.org"
    org_a.save()
    case = open_case(organization=org_a, urls=("https://x.com/someone/status/1",))
    return notice_draft(actor=STAFF, case=case, items=list(case.items.all()))


@settings(max_examples=examples(80))
@given(details=typed_text, copyright_fields=st.integers(0, 4), dmca_work=typed_text, acknowledged=st.booleans())
def test_notice_edit_with_any_text(
    notice: Notice, details: str, copyright_fields: int, dmca_work: str, acknowledged: bool
) -> None:
    tried("notices: notice_edit with arbitrary text")
    if copyright_fields:  # most examples leave the copyright fields alone (this is not a DMCA notice)
        dmca_work, acknowledged = "", False
    missing_before = [m.code for m in notice_validate(notice)]
    savepoint = transaction.savepoint()  # each example starts from the same draft
    try:
        try:
            edited = notice_edit(
                actor=STAFF, notice=notice, details=details, dmca_work=dmca_work, dmca_acknowledged=acknowledged
            )
        except (InvalidInput, Conflict) as exc:
            assert str(exc.message)  # noqa: PT017 - a clear message is the property
            return
        tried("notices: notice_edit with arbitrary text (saved)")
        edited = Notice.objects.get(pk=edited.pk)
        rendered = render_notice(edited)
        assert _appears(details.strip(), rendered.text), "typed text missing from the text notice"
        assert "<script" not in rendered.html.lower()  # the notice templates have none; typed text adds none
        for line in re.split(r"\r\n|\r|\n", details.strip()):  # the lines linebreaksbr makes
            assert html.escape(line) in rendered.html, "typed text missing (or unescaped) in the HTML notice"
        assert [m.code for m in notice_validate(edited)] == missing_before
        try:
            notice_mark_ready(actor=STAFF, notice=edited)
        except (InvalidInput, Conflict) as exc:
            assert missing_before, f"a complete notice was refused: {exc.message}"  # noqa: PT017
    finally:
        transaction.savepoint_rollback(savepoint)


@settings(max_examples=examples(150))
@given(data=st.data(), noise=st.text(max_size=200))
def test_removing_an_element_from_the_text_is_caught(notice: Notice, data: st.DataObject, noise: str) -> None:
    tried("notices: element removed from rendered text")
    ctx = notice_context(notice)
    text = render_context(ctx).text
    assert context_missing(ctx, text) == []
    code = data.draw(st.sampled_from(sorted(ctx.basis.required_elements)))
    value_lines = [line.strip() for line in ctx.elements[code].splitlines() if line.strip()]
    removed = data.draw(st.sampled_from(value_lines))
    position = data.draw(st.integers(0, len(text)))
    mutilated = text.replace(removed, "")
    mutilated = mutilated[:position] + noise + mutilated[position:]
    if removed in mutilated:  # the noise (or a splice of it) put the value back
        return
    assert code in {m.code for m in context_missing(ctx, mutilated)}
