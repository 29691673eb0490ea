"""The demo cases, one per state a case goes through, and the demo site's pages they report.

Each demo link is on a platform of the registry (X, Reddit: their notices go through the real
registry entries and channels) under a host name that no one uses, `takedown-demo.<platform>`,
which only the demo resolver (`takedown.demo.hosts`) answers, with 127.0.0.1: there the demo
site serves the page. So checks run offline through the real pipeline and find real matches.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Host names of registry platforms that the demo resolver sends to the demo site.
DEMO_HOSTS = {"x": "takedown-demo.x.com", "reddit": "takedown-demo.reddit.com"}


@dataclass(frozen=True)
class Scene:
    key: str  # the key in var/demo_cases.json
    state: str  # printed in `demo case: ... (state)`: lowercase letters and spaces
    platform: str  # registry slug
    path: str

    @property
    def picture(self) -> str:
        return self.key

    def url(self, port: int) -> str:
        return f"http://{DEMO_HOSTS[self.platform]}:{port}{self.path}"


SCENES: tuple[Scene, ...] = (
    Scene("new", "new", "x", "/demo_poster/status/1001"),
    Scene("match", "checked with a match", "reddit", "/r/demo/comments/1002/"),
    Scene("drafted", "notice drafted", "x", "/demo_poster/status/1003"),
    Scene("sent", "sent and awaiting answer", "reddit", "/r/demo/comments/1004/"),
    Scene("overdue", "overdue", "x", "/demo_poster/status/1005"),
    # The page is taken down (as the platform would) after the notice is sent: the re-check finds it gone.
    Scene("removed", "removed", "reddit", "/r/demo/comments/1006/"),
    # The platform answered "removed" but the re-check still finds the copy: an advocate reviews it.
    Scene("review", "needing review", "x", "/demo_poster/status/1007"),
)
