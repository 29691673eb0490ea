"""The case report for police or a court: timeline, evidence records and notices, never any image.

It is built only from what the case already records: audit events (which hold nothing sensitive),
the sealed evidence chain with its verification, and the notices with their delivery attempts.
Found media appear as their URL, size and SHA-256, never as pictures: the report is printed and
handed around, and the content it documents must not travel with it. The PDF renderer is given a
URL fetcher that refuses every fetch, so not even a stray reference could pull an image in.
"""

from __future__ import annotations

from typing import Any

from django.template.loader import render_to_string
from django.utils import timezone

from takedown.cases.models import Case
from takedown.cases.selectors import case_timeline
from takedown.matching.evidence import evidence_chain, evidence_verify
from takedown.notices.rendering import PDF_STYLESHEET
from takedown.registry import bases as b


def case_report_context(case: Case) -> dict[str, Any]:
    notices = list(
        case.notices.select_related("platform")
        .prefetch_related("items", "delivery_attempts")
        .order_by("created_at", "id")
    )
    return {
        "case": case,
        "generated_at": timezone.now(),
        "timeline": list(case_timeline(case=case)),
        "items": list(case.items.order_by("id")),
        "checks": evidence_chain(case.pk),
        "chain_problems": evidence_verify(case.pk),
        "notices": [(notice, b.basis_get(notice.basis)) for notice in notices],
    }


def case_report_html(case: Case) -> str:
    return render_to_string("notices/case_report.html", case_report_context(case))


def _refuse_fetch(url: str, *args: Any, **kwargs: Any) -> dict[str, Any]:
    raise ValueError(f"the case report loads no resources ({url[:40]})")


def case_report_pdf(html: str) -> bytes | None:
    """The report as PDF (WeasyPrint), or None when WeasyPrint is not installed."""
    try:
        # Optional and heavy (Pango via cffi), and it flips Pillow's LOAD_TRUNCATED_IMAGES when
        # imported: loaded only when a PDF is asked for.
        from weasyprint import CSS, HTML  # type: ignore[import-untyped]  # noqa: PLC0415
    except (ImportError, OSError):
        return None
    pdf: bytes = HTML(string=html, url_fetcher=_refuse_fetch).write_pdf(stylesheets=[CSS(string=PDF_STYLESHEET)])
    return pdf
