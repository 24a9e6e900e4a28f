"""The editor's pages, in the web interface's namespace (``web:authoring_*``)."""

from django.urls import path

from . import views

A = "courses/<slug:slug>/assignments/<slug:assignment_slug>/edit"

urlpatterns = [
    path("courses/<slug:slug>/new-assignment/editor/", views.new, name="authoring_new"),
    path(f"{A}/", views.start, name="authoring_start"),
    path(f"{A}/statement/", views.statement, name="authoring_statement"),
    path(f"{A}/statement/preview/", views.preview, name="authoring_preview"),
    path(f"{A}/settings/", views.settings_page, name="authoring_settings"),
    path(f"{A}/tests/", views.tests, name="authoring_tests"),
    path(f"{A}/tests/<str:name>/", views.test, name="authoring_test"),
    path(f"{A}/tests/<str:name>/delete/", views.delete_test, name="authoring_delete_test"),
    path(f"{A}/judge/", views.judge, name="authoring_judge"),
    path(f"{A}/solutions/", views.solutions, name="authoring_solutions"),
    path(f"{A}/package/", views.package, name="authoring_package"),
    path(f"{A}/package.zip", views.download, name="authoring_download"),
]
