"""Forms of the course-administration pages: courses and accounts (administrators), members,
self-enrolment and roster imports (supervisors), joining a course (anyone). Each refusal names
the field and says what to do."""

from __future__ import annotations

from typing import Any

from django import forms

from assay.storer.courses.models import Course, Membership
from assay.storer.roster import accounts, csvimport


class CourseForm(forms.Form):
    slug = forms.SlugField(
        max_length=50, label="Short name",
        help_text="Lower-case letters, digits and dashes; part of the address, e.g. prog1-2026.",
    )  # fmt: skip
    title = forms.CharField(max_length=200, label="Title", help_text="e.g. Programming 1 (2026)")
    supervisor = forms.CharField(
        max_length=150, required=False, label="Supervisor (username, optional)",
        help_text="An existing account that supervises the course from the start.",
    )  # fmt: skip

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"].lower()
        if Course.objects.filter(slug=slug).exists():
            raise forms.ValidationError(f"A course named {slug!r} exists already.")
        return slug

    def clean_supervisor(self) -> Any:
        from django.contrib.auth import get_user_model

        name = self.cleaned_data["supervisor"].strip()
        if not name:
            return None
        user = get_user_model().objects.filter(username=name).first()
        if user is None:
            raise forms.ValidationError(f"No account is named {name!r}: create it first.")
        return user


class AccountForm(forms.Form):
    username = forms.CharField(max_length=150, label="Username")
    first_name = forms.CharField(max_length=150, required=False, label="First name")
    last_name = forms.CharField(max_length=150, required=False, label="Last name")
    email = forms.EmailField(
        label="E-mail", help_text="The new account's owner gets a link here to set a password."
    )
    administrator = forms.BooleanField(
        required=False, label="Administrator (may do everything, in every course)"
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "username" in data and "email" in data:
            for name, message in accounts.account_problems(
                data["username"],
                data["email"],
                data.get("first_name", ""),
                data.get("last_name", ""),
            ):
                self.add_error(name, message[0].upper() + message[1:] + ".")
        return data


class AddMemberForm(forms.Form):
    username = forms.CharField(max_length=150, label="Username")
    role = forms.ChoiceField(choices=Membership.ROLES, initial=Membership.STUDENT, label="Role")

    def clean_username(self) -> Any:
        from django.contrib.auth import get_user_model

        name = self.cleaned_data["username"].strip()
        user = get_user_model().objects.filter(username=name).first()
        if user is None:
            raise forms.ValidationError(
                f"No account is named {name!r}: import a roster to create accounts."
            )
        return user


class RosterForm(forms.Form):
    roster = forms.FileField(
        label="Roster (CSV)",
        help_text=(
            f"A header line, then one person a line: {csvimport.COLUMNS}; role is student (the "
            "default) or supervisor. UTF-8; comma, semicolon or tab."
        ),
    )

    def clean_roster(self) -> bytes:
        f = self.cleaned_data["roster"]
        if f.size > csvimport.MAX_BYTES:
            raise forms.ValidationError(
                f"The file is larger than {csvimport.MAX_BYTES // 1024} KiB: split it."
            )
        return f.read()


class JoinForm(forms.Form):
    key = forms.CharField(
        max_length=40, label="Course key",
        help_text="The key your course's staff gave you, e.g. ABCD-EFGH-JK (dashes and case do not matter).",
    )  # fmt: skip
