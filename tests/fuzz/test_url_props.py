"""URL normalisation on arbitrary input: the documented error only, idempotent, http(s) only.

Two parsers read reported links: `cases.urls_normalize.normalize_url` (what the survivor typed,
for storage and de-duplication) and `fetching.urls.parse_target` (what the fetcher connects to,
the SSRF boundary). Neither may raise anything but its documented error, hand on a scheme other
than http(s), or keep credentials in the URL.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import given, settings
from hypothesis import strategies as st

from takedown.cases.urls_normalize import normalize_url
from takedown.core.errors import InvalidInput
from takedown.fetching.errors import FetchError
from takedown.fetching.urls import parse_target
from tests.fuzz.conftest import examples, tried

_SCHEMES = st.sampled_from(["http", "https", "HTTP", "hTtPs", "ftp", "javascript", "data", "file", "gopher", ""])
_SEPARATORS = st.sampled_from(["://", ":/", ":", ":\\\\", "//", ""])
_USERINFO = st.sampled_from(["", "user@", "user:pass@", ":@", "@", "a@b@"])
_HOSTS = st.one_of(
    st.sampled_from(
        [
            "example.com",
            "EXAMPLE.com.",
            "127.0.0.1",
            "0x7f.1",
            "2130706433",
            "[::1]",
            "[fe80::1%25eth0]",
            "xn--bcher-kva.example",
            "bücher.example",
            "localhost",
            "a..b",
            "ex ample.com",
            "例え.テスト",
            "[",
            "]",
            "",
        ]
    ),
    st.from_regex(r"[a-z0-9\-]{1,20}(\.[a-z0-9\-]{1,20}){0,3}", fullmatch=True),
)
_PORTS = st.sampled_from(["", ":80", ":443", ":8080", ":0", ":65536", ":99999999", ":abc", ":", ":-1"])
_PATHS = st.text(max_size=40)
_QUERIES = st.one_of(
    st.just(""),
    st.builds(
        lambda pairs: "?" + "&".join(f"{k}={v}" for k, v in pairs),
        st.lists(
            st.tuples(st.sampled_from(["utm_source", "fbclid", "id", "q", "SI", "a b"]), st.text(max_size=8)),
            max_size=4,
        ),
    ),
)

#: URL-shaped text: the parts a real link has, each drawn from hostile choices.
url_like = st.builds(lambda *parts: "".join(parts), _SCHEMES, _SEPARATORS, _USERINFO, _HOSTS, _PORTS, _PATHS, _QUERIES)
plausible_urls = st.builds(
    lambda *parts: "".join(parts),
    st.sampled_from(["http://", "https://", "HTTPS://", ""]),
    st.from_regex(r"[a-z0-9]([a-z0-9\-]{0,10}[a-z0-9])?(\.[a-z0-9]([a-z0-9\-]{0,10}[a-z0-9])?){1,3}", fullmatch=True)
    | st.sampled_from(["bücher.example", "EXAMPLE.org.", "93.184.216.34", "[2001:db8::1]"]),
    st.sampled_from(["", ":8080", ":443", ":80"]),
    st.sampled_from(["", "/", "/a/b", "/%7Euser/x y", "/p;q"]),
    _QUERIES,
)


any_text = st.one_of(
    plausible_urls, url_like, st.text(max_size=200), st.text(alphabet=st.characters(codec="ascii"), max_size=80)
)


def _assert_web_url_without_credentials(url: str) -> None:
    parts = urlsplit(url)
    assert parts.scheme in {"http", "https"}, url
    assert parts.username is None and parts.password is None, url
    assert "@" not in parts.netloc, url
    assert parts.hostname, url


@settings(max_examples=examples(600))
@given(any_text)
def test_case_url_normalisation(raw: str) -> None:
    tried("urls: cases.urls_normalize.normalize_url")
    try:
        url, normalized = normalize_url(raw)
    except InvalidInput as exc:
        assert str(exc.message)  # noqa: PT017 - a clear message is the property
        return
    tried("urls: cases.urls_normalize.normalize_url (accepted)")
    _assert_web_url_without_credentials(normalized)
    assert normalize_url(normalized)[1] == normalized, "normalising twice changed the URL"
    assert normalize_url(url)[1] == normalized


@settings(max_examples=examples(600))
@given(any_text, st.booleans())
def test_fetch_target_parsing(raw: str, allow_loopback: bool) -> None:
    tried("urls: fetching.urls.parse_target")
    try:
        target = parse_target(raw, allowed_ports=None, allow_loopback=allow_loopback)
    except FetchError as exc:
        assert str(exc)  # noqa: PT017 - a clear message is the property
        return
    tried("urls: fetching.urls.parse_target (accepted)")
    _assert_web_url_without_credentials(target.url)
    assert target.scheme in {"http", "https"}
    assert 1 <= target.port <= 65535
    again = parse_target(target.url, allowed_ports=None, allow_loopback=allow_loopback)
    assert again == target, "parsing the normalised URL again changed it"


@settings(max_examples=examples(300))
@given(plausible_urls)
def test_the_two_parsers_agree_on_the_host(raw: str) -> None:
    """What is stored for a case and what the fetcher connects to name the same host."""
    tried("urls: stored and fetched host agree")
    try:
        _url, normalized = normalize_url(raw)
    except InvalidInput:
        return
    try:
        target = parse_target(normalized, allowed_ports=None, allow_loopback=True)
    except FetchError:
        return  # the fetcher refuses more (internal names, odd labels); refusing is safe
    stored_host = (urlsplit(normalized).hostname or "").rstrip(".")
    if target.ip is None:
        assert target.host == stored_host
    # A numeric host is read the way browsers read it ("0.0" is 0.0.0.0, "0x7f.1" is 127.0.0.1)
    # and then judged as that address by the fetcher's address policy; it need not match as text.
