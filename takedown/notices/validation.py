"""Is a notice complete? Every required element of its basis must have a value and appear in its text.

Checking the rendered text as well as the values catches a platform template override that drops
an element: a notice that lacks one is not a valid request under the law it cites (TAKE IT DOWN
Sec. 3(a)(1)(B), DSA Art. 16(2), DMCA 512(c)(3)(B)), and the platform may ignore it.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from takedown.notices.models import Notice
from takedown.notices.rendering import NoticeContext, notice_context, render_context
from takedown.registry import bases as b


@dataclass(frozen=True)
class MissingElement:
    code: str
    name: str
    help: str


def _appears(value: str, text: str) -> bool:
    return all(line.strip() in text for line in value.splitlines() if line.strip())


def context_missing(ctx: NoticeContext, text: str) -> list[MissingElement]:
    missing: list[MissingElement] = []
    for code in ctx.basis.required_elements:
        value = ctx.elements.get(code, "").strip()
        if not value or not _appears(value, text):
            element = b.ELEMENTS[code]
            missing.append(MissingElement(code=code, name=str(element.name), help=str(element.help)))
    return missing


def notice_validate(notice: Notice) -> list[MissingElement]:
    """The required elements this notice lacks, in plain words; empty when it is complete."""
    ctx = notice_context(notice)
    return context_missing(ctx, render_context(ctx).text)


def elements_digest(ctx: NoticeContext) -> str:
    """A digest of what approval vouches for: basis, platform, channel, items and element values."""
    payload = {
        "basis": ctx.basis.code,
        "platform": ctx.notice.platform_id,
        "channel": ctx.notice.channel,
        "recipient": ctx.notice.recipient,
        "intake": ctx.notice.intake,
        "media_links": ctx.notice.media_links,
        "items": [i.url for i in ctx.items],
        "elements": ctx.elements,
        "details": ctx.notice.details,
        "hashes": ctx.hashes,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()
