from django.apps import AppConfig


class CoursesConfig(AppConfig):
    name = "assay.storer.courses"
    label = "courses"
