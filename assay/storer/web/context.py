from typing import Any

from assay.storer.courses.permissions import is_admin


def nav(request: Any) -> dict[str, Any]:
    user = getattr(request, "user", None)
    return {"is_administrator": is_admin(user)}
