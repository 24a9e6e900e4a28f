"""The API's lists in pages: ``?page=N`` (1, 2, …) answers page N, with the number of all the
rows in ``X-Total-Count`` and the next page's address in ``Link`` (rel="next", absent on the
last page); a page past the end is ``[]``. The page is cut by ``evaluation.lists.paginate``, as
the web pages' are (a count and the page's rows: two queries)."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse

from assay.storer.evaluation import lists

PAGE_SIZE = 100  # rows of a page of the API's lists (the submissions and jobs take `limit`)

# the headers of a page, declared in the OpenAPI schema of every list in pages
PAGED: dict[str, Any] = {
    "responses": {
        200: {
            "headers": {
                "X-Total-Count": {
                    "description": "the number of all the rows, on every page",
                    "schema": {"type": "integer", "minimum": 0},
                },
                "Link": {
                    "description": 'the next page: `</api/…?page=N+1>; rel="next"` (absent on '
                    "the last page)",
                    "schema": {"type": "string"},
                },
            }
        }
    }
}


def page_of(
    request: HttpRequest, response: HttpResponse, rows: QuerySet[Any], page: int, size: int
) -> list[Any]:
    """Page ``page`` of ``rows`` (ordered), ``size`` a page, with the headers set on
    ``response``; ``[]`` past the last page."""
    found = lists.paginate(rows, page, size)
    response["X-Total-Count"] = str(found.paginator.count)
    if found.number != page:  # past the end: paginate gave the last page
        return []
    if found.has_next():
        query = request.GET.copy()
        query["page"] = str(page + 1)
        response["Link"] = f'<{request.path}?{query.urlencode()}>; rel="next"'
    return list(found)
