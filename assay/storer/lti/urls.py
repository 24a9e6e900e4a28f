from django.urls import path

from . import views

app_name = "lti"

urlpatterns = [
    path("login/", views.login, name="login"),
    path("launch/", views.launch, name="launch"),
    path("deep-link/", views.deep_link_response, name="deep_link_response"),
    path("deep-link/course/", views.deep_link_course, name="deep_link_course"),
    path("jwks/", views.jwks, name="jwks"),
    path("canvas.json", views.canvas_config, name="canvas_config"),
    path("courses/<slug:slug>/", views.course, name="course"),
]
