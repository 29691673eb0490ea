"""Fixtures the resume tests share with the matching and notice tests (a local site, SMTP, registry)."""

from __future__ import annotations

from tests.cases.conftest import org_a  # noqa: F401 - fixture
from tests.matching.conftest import site  # noqa: F401 - fixture
from tests.notices.conftest import registry  # noqa: F401 - fixture
from tests.notices.servers import smtp_server  # noqa: F401 - fixture
