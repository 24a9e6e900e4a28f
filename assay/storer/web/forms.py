"""Forms of the web interface; every refused input gets a message that says what to do."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings

from assay.storer.courses.models import Assignment, Membership
from assay.storer.languages import guesses, languages
from assay.storer.uploads import readable


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput(attrs={"multiple": True}))
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> Any:
        single = super().clean
        if isinstance(data, (list, tuple)):
            return [single(d, initial) for d in data]
        return [single(data, initial)] if data else []


class SubmitForm(forms.Form):
    # a field named "files" (the name the API uses): the stubs see Form.files, the uploads
    files = MultipleFileField(  # type: ignore[assignment]
        required=False,
        label="Files",
        help_text="Choose or drop one or more files, or a single .zip of them.",
    )
    for_user = forms.ChoiceField(
        required=False, label="Submit for student", help_text="Cross-submit on a student's behalf."
    )

    language = forms.ChoiceField(
        required=False,
        label="Language",
        help_text="Guessed from your files' extensions; choose another if the guess is wrong.",
    )

    def __init__(
        self,
        *args: Any,
        students: list[str] | None = None,
        assignment: Assignment | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self._language_choices(assignment)
        self.fields["files"].help_text = (
            "Choose or drop one or more files, or a single .zip of them "
            f"(at most {readable(settings.MAX_SUBMISSION_REQUEST_BYTES)} in all)."
        )
        if students is None:
            del self.fields["for_user"]
        else:
            field = self.fields["for_user"]
            assert isinstance(field, forms.ChoiceField)
            field.choices = [("", "— myself —")] + [(s, s) for s in students]

    def _language_choices(self, assignment: Assignment | None) -> None:
        """A language choice where the package leaves the language open (issue 11, part 6); the
        page's script preselects the one the chosen files' extensions tell (``language.js``)."""
        meta = assignment.current_version.meta if assignment and assignment.current_version else {}
        runtimes = [] if meta.get("runtime") else languages(meta)
        if len(runtimes) < 2:
            del self.fields["language"]
            return
        field = self.fields["language"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", "— guess from the file extension —")] + [
            (r.name, r.title) for r in runtimes
        ]
        field.widget.attrs["data-guess"] = json.dumps(guesses(runtimes))

    def clean_files(self) -> list[Any]:
        files = self.cleaned_data.get("files") or []
        if not files:
            raise forms.ValidationError("Choose at least one file to submit.")
        return files


class PackageForm(forms.Form):
    slug = forms.SlugField(
        max_length=50,
        label="Short name",
        help_text="Lower-case letters, digits and dashes; part of the address.",
    )
    package = forms.FileField(
        label="Package (.zip)",
        help_text="A native (assignment.yaml) or Kattis (problem.yaml) package, zipped.",
    )
    publish = forms.BooleanField(
        required=False, initial=False, label="Publish as soon as the reference solutions pass"
    )


class VersionForm(forms.Form):
    package = forms.FileField(label="New package version (.zip)")
    publish = forms.BooleanField(
        required=False, initial=False, label="Publish as soon as the reference solutions pass"
    )


class AssignmentSettingsForm(forms.ModelForm):
    deadline = forms.DateTimeField(
        required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
        help_text="UTC. Leave empty for no deadline.",
    )  # fmt: skip

    class Meta:
        model = Assignment
        fields = ["title", "deadline", "points", "evaluation", "test_details"]
        labels = {"evaluation": "Evaluation", "test_details": "What students see of the tests"}

    def clean_points(self) -> float:
        points = self.cleaned_data["points"]
        if points < 0:
            raise forms.ValidationError("Points cannot be negative.")
        return points


class MemberForm(forms.Form):
    username = forms.CharField(max_length=150, required=False, label="Username")
    role = forms.ChoiceField(choices=Membership.ROLES, initial=Membership.STUDENT, label="Role")
    csv = forms.FileField(
        required=False,
        label="Or a CSV file",
        help_text="One member a line: username,role (role: student or supervisor).",
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("username") and not data.get("csv"):
            raise forms.ValidationError("Give a username or a CSV file.")
        return data
