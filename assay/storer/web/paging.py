"""A list page's page links (``partials/pages.html``): the page, the numbers around it, and the
request's other parameters (its filters) kept in every link."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Page
from django.http import HttpRequest

from assay.storer.evaluation.lists import paginate


def page_of(request: HttpRequest, rows: Any) -> dict[str, Any]:
    """The context of the page ``?page=`` asks for (the first for a bad number, the last past
    the end): ``page``, ``page_range`` (elided around it) and ``page_query``."""
    page: Page = paginate(rows, request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    for key in [k for k, v in query.items() if not v]:  # an empty filter says nothing
        del query[key]
    encoded = query.urlencode()
    return {
        "page": page,
        "page_range": list(page.paginator.get_elided_page_range(page.number, on_each_side=2)),
        "page_query": f"{encoded}&" if encoded else "",
    }
