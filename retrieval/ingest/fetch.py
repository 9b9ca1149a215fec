"""Fetching one web page or feed with httpx, within limits, for the operator's ``add`` and ``watch``.

Every way a fetch can go wrong ends in ``FetchProblem`` with one line for the
operator (the address, then what happened), never a traceback. The limits are
the settings': a timeout per stage, a size cap enforced while reading (a server
may lie in ``Content-Length`` or send none), a bounded number of redirects
(each one checked for its scheme), only the content types asked for, and a
User-Agent that says what is asking.

Only the operator's command line fetches: the Telegram bot never opens a URL a user sends.

>>> got = fetch("https://www.example.org/news/1", FetchLimits())   # doctest: +SKIP
>>> got.url, len(got.content)
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from urllib.parse import urlsplit

import httpx

HTML_TYPES = ("text/html", "application/xhtml+xml")
FEED_TYPES = ("application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml",
              "text/xml", "application/feed+json", "text/html")  # some servers label feeds text/html


def _version() -> str:
    try:
        return version("newsbot")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "dev"


DEFAULT_USER_AGENT = f"newsbot/{_version()} (article fetcher run by the bot's operator; python-httpx)"


class FetchProblem(Exception):
    """A page or feed could not be fetched or used; ``str()`` is the line for the operator."""


@dataclass(frozen=True)
class FetchLimits:
    timeout: float = 20.0  # seconds for each of connect, read, write and pool
    max_bytes: int = 5_000_000
    max_redirects: int = 5
    user_agent: str = DEFAULT_USER_AGENT

    def __post_init__(self):
        if self.timeout <= 0:
            raise ValueError(f"timeout must be positive, got {self.timeout}")
        if self.max_bytes < 1:
            raise ValueError(f"max_bytes must be positive, got {self.max_bytes}")
        if self.max_redirects < 0:
            raise ValueError(f"max_redirects must be 0 or more, got {self.max_redirects}")

    @classmethod
    def from_settings(cls, settings) -> "FetchLimits":
        return cls(settings.fetch_timeout, settings.fetch_max_bytes, settings.fetch_max_redirects,
                   settings.fetch_user_agent or DEFAULT_USER_AGENT)


@dataclass(frozen=True)
class Fetched:
    """A response body that passed the checks, with the address it finally came from."""

    url: str
    content: bytes
    content_type: str


def check_url(url: str) -> str:
    """``url`` when it is an absolute http(s) address with a host; ``FetchProblem`` says what is wrong otherwise."""
    url = url.strip()
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number
    except ValueError as exc:
        raise FetchProblem(f"{url}: not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        shown = f"not {parts.scheme}:" if parts.scheme else "and this has no scheme"
        raise FetchProblem(f"{url}: only http:// and https:// addresses can be added, {shown}")
    if not parts.hostname or any(c.isspace() for c in url):
        raise FetchProblem(f"{url}: not a valid URL ({'a space in it' if parts.hostname else 'no host name'})")
    return url


def fetch(url: str, limits: FetchLimits, accept: tuple[str, ...] = HTML_TYPES) -> Fetched:
    """The body at ``url``, if it answers 200 with one of the ``accept`` types within ``limits``."""
    url = check_url(url)
    headers = {"User-Agent": limits.user_agent, "Accept": ", ".join(accept) + ", */*;q=0.1"}
    try:
        with httpx.Client(timeout=httpx.Timeout(limits.timeout), follow_redirects=False, headers=headers) as client:
            for _ in range(limits.max_redirects + 1):
                with client.stream("GET", url) as response:
                    if response.is_redirect:
                        url = _redirect_target(url, response)
                        continue
                    return _body(url, response, limits, accept)
            raise FetchProblem(f"{url}: more than {limits.max_redirects} redirects")
    except httpx.TimeoutException:
        raise FetchProblem(f"{url}: no answer within {limits.timeout:g} s (timed out)") from None
    except httpx.HTTPError as exc:
        raise FetchProblem(f"{url}: could not connect ({type(exc).__name__}: {exc})") from None


def _redirect_target(url: str, response: httpx.Response) -> str:
    """The next address, checked like the first: a redirect must not lead to file:// or elsewhere odd."""
    location = response.headers.get("location", "").strip()
    if not location:
        raise FetchProblem(f"{url}: redirect ({response.status_code}) without a Location")
    target = str(response.url.join(location))
    try:
        return check_url(target)
    except FetchProblem as exc:
        raise FetchProblem(f"{url}: redirected to a refused address: {exc}") from None


def _body(url: str, response: httpx.Response, limits: FetchLimits, accept: tuple[str, ...]) -> Fetched:
    if response.status_code != 200:
        phrase = response.reason_phrase or "error"
        raise FetchProblem(f"{url}: the server answered {response.status_code} {phrase}")
    kind = response.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in accept:
        wanted = "an HTML page" if accept == HTML_TYPES else "a feed"
        raise FetchProblem(f"{url}: not {wanted} (Content-Type: {kind or 'none'})")
    cap = f"the limit is {_size(limits.max_bytes)}, BOT_FETCH_MAX_BYTES"
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limits.max_bytes:
        raise FetchProblem(f"{url}: too large ({_size(int(declared))}; {cap})")
    chunks, size = [], 0
    for chunk in response.iter_bytes():  # decoded: a compressed body is capped at its real size
        size += len(chunk)
        if size > limits.max_bytes:
            raise FetchProblem(f"{url}: too large (over {_size(limits.max_bytes)}; {cap})")
        chunks.append(chunk)
    return Fetched(str(response.url), b"".join(chunks), kind)


def _size(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.0f} kB"
