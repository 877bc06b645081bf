"""`lookalike review`: a local web page to compare a scan's groups side by side and resolve them.

    >>> from lookalike.review import Review, ReviewServer
    >>> ReviewServer(Review(report)).run(open_browser=True)

`session` holds the review (group order, a person's marks, plans, journals: all resolution through
`lookalike.plan` / `apply` / `undo` / `ignore`), `previews` draws the scanned files as cached JPEGs, `server`
serves both and the static page under `static/` to 127.0.0.1 only, behind a random token.
"""

from lookalike.review.previews import Previews
from lookalike.review.server import ReviewServer, make_app
from lookalike.review.session import Review

__all__ = ["Previews", "Review", "ReviewServer", "make_app"]
