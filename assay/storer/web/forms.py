"""Forms of the web interface; every refused input gets a message that says what to do."""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.conf import settings

from assay.storer.courses.models import Assignment
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


def local_datetime(label: str, help_text: str) -> forms.DateTimeField:
    """A date and time typed in the course's time zone (web/timezones.py activates it)."""
    return forms.DateTimeField(
        required=False, label=label, help_text=help_text,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"),
    )  # fmt: skip


class AssignmentSettingsForm(forms.ModelForm):
    """The assignment's settings and rules (docs/deadlines.md); times in the course's zone."""

    release_at = local_datetime(
        "Release date", "Students do not see the assignment before it. Empty: at once."
    )
    deadline = local_datetime(
        "Deadline", "After it a submission is late. Leave empty for no deadline."
    )
    second_deadline = local_datetime(
        "Second deadline",
        "Optional: late submissions are accepted until then, their points multiplied by the factor.",
    )
    second_factor = forms.FloatField(
        required=False, label="Points factor after the deadline", min_value=0, max_value=1,
        help_text="Between 0 and 1: 0.5 gives half the points to a submission between the deadlines.",
        widget=forms.NumberInput(attrs={"step": "0.05"}),
    )  # fmt: skip
    max_submissions = forms.IntegerField(
        required=False, min_value=1, label="Maximum submissions per student",
        help_text="A student's own submissions; the staff's cross-submits do not count. Empty: no limit.",
    )  # fmt: skip

    class Meta:
        model = Assignment
        fields = [
            "title", "release_at", "deadline", "second_deadline", "second_factor",
            "max_submissions", "counts", "points", "evaluation", "test_details", "archived",
        ]  # fmt: skip
        labels = {
            "evaluation": "Evaluation",
            "test_details": "What students see of the tests",
            "counts": "The grade comes from",
            "archived": "Archived: hidden from the students' course page, no new submissions",
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        zone = self.instance.course.time_zone if self.instance.course_id else "UTC"
        for name in ("release_at", "deadline", "second_deadline"):
            self.fields[name].help_text += f" In the course's time zone, {zone}."
        self.fields["counts"].required = False

    def clean_points(self) -> float:
        points = self.cleaned_data["points"]
        if points < 0:
            raise forms.ValidationError("Points cannot be negative.")
        return points

    # a form sent without them (an older page, a script) keeps what the assignment has
    def clean_second_factor(self) -> float:
        factor = self.cleaned_data.get("second_factor")
        return self.instance.second_factor if factor is None else factor

    def clean_counts(self) -> str:
        return self.cleaned_data.get("counts") or self.instance.counts
