"""Forms submitted by the pages' script leave no history entry (issue 14).

Survivor pages submit their forms with `fetch` (static/js/quick-exit.js) and a request header,
`X-Takedown-Fetch: 1`. A browser following a redirect inside `fetch` would load the next page for
the script, where its flash message is spent, and the page could only be shown by loading it a
second time. So for those requests a redirect is answered `204 No Content` with the target in
`X-Takedown-Location`, cookies and all, and the script moves there with `location.replace`: the
POST, like every other step of a visit, replaces the one history entry instead of adding one, and
Back after the quick exit leaves the site. Without JavaScript the forms post and redirect as usual.
"""

from __future__ import annotations

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

FETCH_HEADER = "X-Takedown-Fetch"
LOCATION_HEADER = "X-Takedown-Location"


class FetchRedirectMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if request.headers.get(FETCH_HEADER) == "1" and response.status_code in {301, 302, 303, 307, 308}:
            location = response.headers.get("Location", "")
            del response.headers["Location"]
            response.status_code = 204
            response.reason_phrase = "No Content"
            response.headers[LOCATION_HEADER] = location
            response.headers["Vary"] = ", ".join(filter(None, [response.headers.get("Vary"), FETCH_HEADER]))
        return response
