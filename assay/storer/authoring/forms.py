"""The editor's forms. The rules live in drafts.py (the loader's); a refusal there comes back
onto the field it names (``show_error``)."""

from __future__ import annotations

from typing import Any

from django import forms

from assay.package.model import EXPECTED_VERDICTS
from assay.runtimes import all_runtimes
from assay.storer.evaluation.services import ServiceError
from assay.storer.web.forms import MultipleFileField

from . import drafts


def show_error(
    form: forms.Form, error: ServiceError, aliases: dict[str, str] | None = None
) -> None:
    """A refusal from drafts.py on the form field it names (else on the whole form)."""
    field = (aliases or {}).get(error.field or "", error.field)
    message = error.message[:1].upper() + error.message[1:]
    if field and field in form.fields:
        prefix = f"{error.field}: "
        form.add_error(
            field, message.removeprefix(prefix) if message.startswith(prefix) else message
        )
    else:
        form.add_error(None, message)


class NewForm(forms.Form):
    slug = forms.SlugField(
        max_length=50,
        label="Short name",
        help_text="Lower-case letters, digits and dashes; part of the address.",
    )
    title = forms.CharField(max_length=200, label="Title")
    template = forms.ChoiceField(
        label="Start from",
        choices=[(t.key, t.label) for t in drafts.TEMPLATES.values()],
        help_text="A complete package with tests and reference solutions, to change into yours.",
    )


class StatementForm(forms.Form):
    statement = forms.CharField(
        required=False,
        max_length=drafts.MAX_STATEMENT_CHARS,
        label="Statement (Markdown)",
        widget=forms.Textarea(attrs={"rows": 22, "class": "code-input"}),
        help_text="What students read on the assignment page; the preview shows it as they will see it.",
    )


def _runtimes() -> list[tuple[str, str]]:
    return [("", "— by the submitted files' extensions —")] + sorted(
        (name, name) for name in all_runtimes()
    )


class SettingsForm(forms.Form):
    title = forms.CharField(max_length=200, label="Title")
    runtime = forms.ChoiceField(required=False, label="Language", choices=[])
    points = forms.FloatField(
        min_value=0,
        label="Points",
        help_text="With test groups, the groups' points add up to the assignment's.",
    )
    evaluation = forms.ChoiceField(
        label="Evaluation", choices=[("immediate", "immediately"), ("on_demand", "on demand")]
    )
    time_s = forms.FloatField(
        required=False, label="Time limit (s)", help_text="CPU time of a run; default 1."
    )
    wall_time_s = forms.FloatField(
        required=False, label="Wall time limit (s)", help_text="Default: 2 × time limit + 1."
    )
    memory_mib = forms.IntegerField(
        required=False, label="Memory limit (MiB)", help_text="Default 256."
    )
    output_kib = forms.IntegerField(required=False, label="Output limit (KiB)", help_text="Standard output and error, each; default 65536.")  # fmt: skip

    def __init__(self, *args: Any, groups: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["runtime"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = _runtimes()
        if groups:
            self.fields["points"].disabled = True
            self.fields["points"].required = False


class TestForm(forms.Form):
    name = forms.CharField(
        max_length=drafts.MAX_TEST_NAME_CHARS,
        label="Name",
        help_text="Letters, digits, '_', '.' and '-'. Tests run in natural order (2 before 10).",
    )
    input = forms.CharField(
        required=False,
        strip=False,
        label="Input",
        widget=forms.Textarea(attrs={"rows": 6, "class": "code-input"}),
    )
    input_file = forms.FileField(required=False, label="Or upload the input")
    output = forms.CharField(
        required=False, strip=False, label="Expected output",
        widget=forms.Textarea(attrs={"rows": 6, "class": "code-input"}),
    )  # fmt: skip
    output_file = forms.FileField(required=False, label="Or upload the expected output")
    visible = forms.BooleanField(
        required=False, label="Visible: students see its input, expected and actual output"
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            self.fields["name"].disabled = True


class TestsZipForm(forms.Form):
    tests_zip = forms.FileField(
        label="A zip of tests",
        help_text="Pairs NAME.in + NAME.out (or .ans), or folders NAME/ with input and output; a test of the same name is replaced.",
    )
    visible = forms.BooleanField(required=False, label="Make them visible")


class JudgeForm(forms.Form):
    type = forms.ChoiceField(
        label="How outputs are judged", choices=list(drafts.JUDGE_TYPES.items())
    )
    abs_tol = forms.FloatField(
        required=False,
        min_value=0,
        label="Absolute tolerance",
        help_text="Numbers within a tolerance only; default 1e-6.",
    )
    rel_tol = forms.FloatField(
        required=False,
        min_value=0,
        label="Relative tolerance",
        help_text="Numbers within a tolerance only; default 1e-6.",
    )
    checker = forms.ChoiceField(
        required=False, label="Checker file", choices=[(n, n) for n in drafts.CHECKER_NAMES],
        help_text="A custom checker only; its extension chooses its language.",
    )  # fmt: skip
    checker_source = forms.CharField(
        required=False, strip=False, label="Checker source",
        widget=forms.Textarea(attrs={"rows": 16, "class": "code-input"}),
        help_text="Run as: checker INPUT ANSWER FEEDBACK_DIR < the program's output. Exit 42 accepts, 43 rejects; FEEDBACK_DIR/score.txt may hold a partial score 0…1.",
    )  # fmt: skip


class SolutionForm(forms.Form):
    verdict = forms.ChoiceField(
        label="Expected verdict",
        choices=[(k, k.replace("_", " ")) for k in EXPECTED_VERDICTS],
        help_text="The build checks that the solution gets this verdict.",
    )
    files = MultipleFileField(label="Solution file(s)")  # type: ignore[assignment]
    folder = forms.CharField(
        required=False, max_length=100, label="Folder (a solution of several files)"
    )


class BuildForm(forms.Form):
    publish = forms.BooleanField(
        required=False, initial=True, label="Publish as soon as the reference solutions pass"
    )


class GroupsForm(forms.Form):
    """The points and scoring of each of the package's test groups."""

    SCORING = [("proportional", "proportional: each passed test counts"), ("all", "all or nothing")]

    def __init__(self, *args: Any, groups: list[dict[str, Any]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.groups = groups
        for i, g in enumerate(groups):
            self.fields[f"points_{i}"] = forms.FloatField(
                min_value=0, label=f"Points of group {g['name']}", initial=g["points"],
                help_text=f"The tests whose names match {', '.join(g['tests'])}.",
            )  # fmt: skip
            self.fields[f"scoring_{i}"] = forms.ChoiceField(
                choices=self.SCORING, label=f"Scoring of group {g['name']}", initial=g["scoring"]
            )

    def changes(self) -> list[dict[str, Any]]:
        data = self.cleaned_data
        return [
            {"name": g["name"], "points": data[f"points_{i}"], "scoring": data[f"scoring_{i}"]}
            for i, g in enumerate(self.groups)
        ]

    def aliases(self) -> dict[str, str]:
        """The drafts' field names (``groups.0.points``) to this form's."""
        return {
            f"groups.{i}.{key}": f"{key}_{i}"
            for i in range(len(self.groups))
            for key in ("points", "scoring")
        }
