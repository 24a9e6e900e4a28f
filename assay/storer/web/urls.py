from django.contrib.auth import views as auth_views
from django.urls import path

from assay.storer.authoring.urls import urlpatterns as authoring_urls
from assay.storer.sso import views as sso_views

from . import administration, code, feedback, grading, join, members, queue, staff, views
from . import grades as grade_pages
from . import groups as group_pages
from . import rules as rules_pages
from . import similarity as similarity_pages
from . import statistics as statistics_pages

app_name = "web"
A = "courses/<slug:slug>/assignments/<slug:assignment_slug>"

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", sso_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("courses/<slug:slug>/", views.course, name="course"),
    path("courses/<slug:slug>/new-assignment/", staff.new_assignment, name="new_assignment"),
    path("courses/<slug:slug>/submissions/", staff.course_submissions, name="course_submissions"),
    path("courses/<slug:slug>/grades/", grade_pages.grades, name="grades"),
    path("courses/<slug:slug>/grades.csv", grade_pages.grades_csv, name="grades_csv"),
    path("courses/<slug:slug>/progress/", statistics_pages.progress, name="progress"),
    path("courses/<slug:slug>/progress.csv", statistics_pages.progress_csv, name="progress_csv"),
    path("courses/<slug:slug>/members/", members.members, name="members"),
    path("courses/<slug:slug>/groups/", group_pages.groups, name="groups"),
    path("courses/<slug:slug>/groups/<int:group_id>/", group_pages.group, name="group"),
    path(
        "courses/<slug:slug>/groups/<int:group_id>/delete/",
        group_pages.delete_group,
        name="delete_group",
    ),
    path(f"{A}/manage/teams/", group_pages.teams, name="assignment_teams"),
    path(
        "courses/<slug:slug>/members/<int:user_id>/role/", members.change_role, name="member_role"
    ),
    path(
        "courses/<slug:slug>/members/<int:user_id>/remove/",
        members.remove_member,
        name="member_remove",
    ),
    path("courses/<slug:slug>/members/enrolment/", members.enrolment, name="enrolment"),
    path("courses/<slug:slug>/members/import/", members.import_roster, name="import_roster"),
    path("join/", join.join, name="join"),
    path("join/<str:key>/", join.join_key, name="join_key"),
    path(
        "account/set-password/<uidb64>/<token>/",
        join.SetPasswordView.as_view(),
        name="set_password",
    ),
    path("manage/courses/", administration.courses, name="admin_courses"),
    path("manage/users/", administration.users, name="admin_users"),
    path(
        "manage/users/<int:user_id>/active/", administration.user_active, name="admin_user_active"
    ),
    path(
        "manage/users/<int:user_id>/set-password-mail/",
        administration.user_mail,
        name="admin_user_mail",
    ),
    path("courses/<slug:slug>/settings/", rules_pages.course_settings, name="course_settings"),
    path(f"{A}/", views.assignment, name="assignment"),
    path(f"{A}/submissions/", views.submissions_partial, name="submission_rows"),
    path(f"{A}/stats/", statistics_pages.stats, name="stats"),
    path(f"{A}/stats/<slug:section>.csv", statistics_pages.stats_csv, name="stats_csv"),
    path(f"{A}/grades/<str:username>/", grading.grade, name="grade"),
    path("grades/<int:assignment_id>/<int:student_id>/", grading.grade_of, name="grade_of"),
    path(f"{A}/manage/rubric/", grading.rubric, name="rubric"),
    path(f"{A}/manage/rubric/add/", grading.rubric_add, name="rubric_add"),
    path(f"{A}/manage/rubric/<int:item_id>/", grading.rubric_edit, name="rubric_edit"),
    path(f"{A}/manage/rubric/<int:item_id>/delete/", grading.rubric_delete, name="rubric_delete"),
    path(f"{A}/manage/grade/", grading.grade_pick, name="grade_pick"),
    path(f"{A}/manage/", staff.manage_assignment, name="manage_assignment"),
    path(f"{A}/manage/versions/", staff.versions_partial, name="versions"),
    path(f"{A}/manage/upload/", staff.upload_version, name="upload_version"),
    path(
        f"{A}/manage/versions/<int:number>/publish/", staff.publish_version, name="publish_version"
    ),
    path(f"{A}/manage/reevaluate-all/", staff.reevaluate_all, name="reevaluate_all"),
    path(f"{A}/manage/progress/<str:batch>/", staff.batch_progress, name="batch_progress"),
    path(f"{A}/manage/similarity/", similarity_pages.similarity, name="similarity"),
    path(
        f"{A}/manage/similarity/<int:run_id>/",
        similarity_pages.similarity_run,
        name="similarity_run",
    ),
    path(
        f"{A}/manage/similarity/<int:run_id>/progress/",
        similarity_pages.similarity_progress,
        name="similarity_progress",
    ),
    path(
        f"{A}/manage/similarity/<int:run_id>/pairs/<int:rank>/",
        similarity_pages.similarity_pair,
        name="similarity_pair",
    ),
    path(f"{A}/manage/extensions/", rules_pages.extensions_page, name="extensions"),
    path(
        f"{A}/manage/extensions/<str:username>/revoke/",
        rules_pages.revoke_extension,
        name="revoke_extension",
    ),
    path(f"{A}/manage/unpublish/", rules_pages.unpublish, name="unpublish"),
    path("submissions/<int:submission_id>/", views.submission, name="submission"),
    path("submissions/<int:submission_id>/body/", views.submission_partial, name="submission_body"),
    path("submissions/<int:submission_id>/evaluate/", views.evaluate, name="evaluate"),
    path("submissions/<int:submission_id>/code/", code.code, name="submission_code"),
    path("submissions/<int:submission_id>/code/part/", code.code_part, name="submission_code_part"),
    path("submissions/<int:submission_id>/files.zip", code.archive, name="submission_archive"),
    path("submissions/<int:submission_id>/files/<path:name>", code.raw, name="submission_file"),
    path("submissions/<int:submission_id>/compare/", code.compare, name="submission_compare"),
    path("submissions/<int:submission_id>/reevaluate/", staff.reevaluate, name="reevaluate"),
    path("submissions/<int:submission_id>/feedback/", feedback.page, name="submission_feedback"),
    path(
        "submissions/<int:submission_id>/feedback/part/",
        feedback.part,
        name="submission_feedback_part",
    ),
    path("submissions/<int:submission_id>/feedback/add/", feedback.add, name="feedback_add"),
    path("comments/<int:comment_id>/edit/", feedback.edit, name="comment_edit"),
    path("comments/<int:comment_id>/delete/", feedback.delete, name="comment_delete"),
    path("feedback/", feedback.unread, name="feedback_unread"),
    path("feedback/badge/", feedback.badge, name="feedback_badge"),
    path("manage/queue/", queue.queue, name="queue"),
    path("manage/queue/live/", queue.queue_live, name="queue_live"),
    path("manage/jobs/<int:job_id>/retry/", staff.retry, name="retry"),
]
urlpatterns += authoring_urls  # the assignment editor (assay/storer/authoring)
