from django.contrib import admin
from django.urls import include, path

from assay.storer.api import api

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/", api.urls),
    path("lti/", include("assay.storer.lti.urls")),
    path("", include("assay.storer.sso.urls")),  # single sign-on (docs/sso.md)
    path("", include("assay.storer.web.urls")),
]

# the error pages in the site's layout; under /api/ the API's JSON error shape
handler400 = "assay.storer.web.errors.bad_request"
handler403 = "assay.storer.web.errors.permission_denied"
handler404 = "assay.storer.web.errors.page_not_found"
handler500 = "assay.storer.web.errors.server_error"
