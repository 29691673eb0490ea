"""The DSA Art. 22(3) report of a trusted flagger: the notices it submitted in a year, by provider.

Art. 22(3): trusted flaggers publish, at least once a year, a report on the notices they submitted,
categorised by the identity of the hosting provider, the type of illegal content notified, and the
action the provider took (legal.md section 3a; notices-review.md "Trusted flaggers"). This reads the
organisation's sent DSA notices; it writes nothing and shows no case data (no links, no names).
"""

from __future__ import annotations

import csv
import io
import statistics
from collections import defaultdict
from dataclasses import dataclass

from takedown.notices.models import Notice, NoticeStatus
from takedown.organizations.models import Organization
from takedown.registry import bases as b
from takedown.registry.models import ContentKind

# Type of illegal content: every notice here concerns the non-consensual sharing of intimate images.
CONTENT_TYPES = {
    ContentKind.AUTHENTIC: "non-consensual sharing of intimate images",
    ContentKind.DIGITAL_FORGERY: "non-consensual sharing of manipulated intimate images (deepfakes)",
    ContentKind.BOTH: "non-consensual sharing of intimate images, real and manipulated",
    ContentKind.UNKNOWN: "non-consensual sharing of intimate images",
}

COLUMNS = [
    "hosting_provider",
    "type_of_content",
    "notices_submitted",
    "removed_or_disabled",
    "rejected",
    "more_information_asked",
    "no_decision_yet",
    "median_hours_to_decision",
]


@dataclass(frozen=True)
class FlaggerRow:
    provider: str
    content_type: str
    submitted: int
    removed: int
    rejected: int
    needs_info: int
    undecided: int
    median_hours: float | None

    def as_list(self) -> list[str]:
        median = "" if self.median_hours is None else f"{self.median_hours:.1f}"
        return [
            self.provider,
            self.content_type,
            str(self.submitted),
            str(self.removed),
            str(self.rejected),
            str(self.needs_info),
            str(self.undecided),
            median,
        ]


def trusted_flagger_rows(organization: Organization, year: int) -> list[FlaggerRow]:
    """The organisation's DSA notices sent in `year`, grouped by provider and type of content."""
    notices = Notice.objects.filter(case__organization=organization, basis=b.EU_DSA, sent_at__year=year).select_related(
        "platform", "case"
    )
    groups: dict[tuple[str, str], list[Notice]] = defaultdict(list)
    for notice in notices:
        content = CONTENT_TYPES.get(ContentKind(notice.case.content_kind), CONTENT_TYPES[ContentKind.UNKNOWN])
        groups[(notice.platform.name, content)].append(notice)
    rows = []
    for (provider, content), group in sorted(groups.items()):
        decided = [n for n in group if n.status in {NoticeStatus.REMOVED, NoticeStatus.REJECTED} and n.replied_at]
        hours = [(n.replied_at - n.sent_at).total_seconds() / 3600 for n in decided if n.replied_at and n.sent_at]
        rows.append(
            FlaggerRow(
                provider=provider,
                content_type=content,
                submitted=len(group),
                removed=sum(n.status == NoticeStatus.REMOVED for n in group),
                rejected=sum(n.status == NoticeStatus.REJECTED for n in group),
                needs_info=sum(n.status == NoticeStatus.NEEDS_INFO for n in group),
                undecided=sum(n.status in {NoticeStatus.SENT, NoticeStatus.ACKNOWLEDGED} for n in group),
                median_hours=statistics.median(hours) if hours else None,
            )
        )
    return rows


def trusted_flagger_csv(organization: Organization, year: int) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    for row in trusted_flagger_rows(organization, year):
        writer.writerow(row.as_list())
    return out.getvalue()
