"""A course's roster from a CSV file: ``username,email[,first_name,last_name][,role]`` with a
header line. Read first into a plan (what would happen, and every problem by line and field),
shown to the supervisor; applied only when it has no problem, all or nothing. Missing accounts
are created (no usable password; a set-password e-mail each); existing accounts are only
enrolled, their names and e-mail left as they are. A roster never lowers a member's role.

1. ``read_roster`` decodes (UTF-8, with or without a BOM), finds the delimiter (``,`` ``;`` or
   a tab, as spreadsheets save), checks the header, then each line;
2. the accounts, e-mails and memberships the file names are read in three queries;
3. ``apply_roster`` re-reads the file (the course may have changed since the preview), then
   creates and enrols in one transaction, and mails the new accounts after it."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from assay.storer.courses.models import Course, Membership

from . import accounts

MAX_BYTES = 1024 * 1024  # a roster of 10,000 students is ~500 KiB
MAX_LINES = 10_000
REQUIRED = ("username", "email")
OPTIONAL = ("first_name", "last_name", "role")
COLUMNS = "username,email[,first_name,last_name][,role]"

CREATE, ENROL, PROMOTE, UNCHANGED = "new account", "enrol", "make supervisor", "already a member"


@dataclass
class Line:
    line: int
    username: str
    email: str
    first_name: str = ""
    last_name: str = ""
    role: str = Membership.STUDENT
    action: str = ""


@dataclass
class Problem:
    line: int  # 0: the file as a whole
    field: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line else "the file"
        return f"{where}, {self.field}: {self.message}"


@dataclass
class Plan:
    lines: list[Line] = field(default_factory=list)
    problems: list[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.lines)

    def count(self, action: str) -> int:
        return sum(1 for x in self.lines if x.action == action)

    def summary(self) -> dict[str, int]:
        return {
            "new_accounts": self.count(CREATE),
            "enrolled": self.count(CREATE) + self.count(ENROL),
            "made_supervisor": self.count(PROMOTE),
            "unchanged": self.count(UNCHANGED),
        }


def _text(data: bytes, plan: Plan) -> str | None:
    if len(data) > MAX_BYTES:
        plan.problems.append(
            Problem(0, "file", f"larger than {MAX_BYTES // 1024} KiB: split it into several files")
        )
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        plan.problems.append(
            Problem(
                line, "file", 'not UTF-8 text: save the file as "CSV UTF-8" and upload it again'
            )
        )
        return None
    if "\x00" in text:
        line = text[: text.index("\x00")].count("\n") + 1
        plan.problems.append(Problem(line, "file", "a NUL character: this is not a CSV text file"))
        return None
    if not text.strip():
        plan.problems.append(Problem(0, "file", f"the file is empty: give a header ({COLUMNS})"))
        return None
    return text


def _delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", ";", "\t")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def _header(row: list[str], plan: Plan) -> list[str] | None:
    names = [c.strip().lower().replace(" ", "_") for c in row]
    missing = [c for c in REQUIRED if c not in names]
    unknown = [c for c in names if c not in REQUIRED + OPTIONAL]
    if missing or unknown:
        what = []
        if missing:
            what.append(f"no {' or '.join(missing)} column")
        if unknown:
            what.append(f"unknown column {', '.join(map(repr, unknown))}")
        plan.problems.append(
            Problem(1, "header", f"{'; '.join(what)}: the first line names the columns, {COLUMNS}")
        )
        return None
    twice = [c for c in set(names) if names.count(c) > 1]
    if twice:
        plan.problems.append(Problem(1, "header", f"column {twice[0]!r} appears twice"))
        return None
    return names


def _rows(text: str, plan: Plan) -> list[Line]:
    lines = text.splitlines()
    if len(lines) > MAX_LINES + 1:
        plan.problems.append(
            Problem(0, "file", f"more than {MAX_LINES} lines: split it into several files")
        )
        return []
    reader = csv.reader(io.StringIO(text), delimiter=_delimiter(lines[0]), strict=True)
    found: list[Line] = []
    try:
        header = _header(next(reader), plan)
        if header is None:
            return []
        for row in reader:
            number = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                plan.problems.append(
                    Problem(number, "file", f"{len(row)} values for {len(header)} columns")
                )
                continue
            values = {name: cell.strip() for name, cell in zip(header, row, strict=True)}
            found.append(
                Line(
                    number,
                    values["username"],
                    values["email"],
                    values.get("first_name", ""),
                    values.get("last_name", ""),
                    (values.get("role") or Membership.STUDENT).lower(),
                )  # fmt: skip
            )
    except csv.Error as e:
        plan.problems.append(Problem(reader.line_num, "file", f"not valid CSV ({e})"))
    if not found and not plan.problems:
        plan.problems.append(Problem(0, "file", "no line after the header: nobody to add"))
    return found


def read_roster(data: bytes, course: Course) -> Plan:
    """What importing ``data`` into the course would do (nothing is changed)."""
    plan = Plan()
    text = _text(data, plan)
    if text is None:
        return plan
    rows = _rows(text, plan)
    User = get_user_model()
    usernames = {r.username.lower() for r in rows}
    existing = {
        u.username.lower(): u for u in User.objects.filter(username__in=[r.username for r in rows])
    }
    # the case-insensitive match (Alice = alice) for names not found exactly, in one more query
    if usernames - set(existing):
        from django.db.models.functions import Lower

        for u in User.objects.annotate(low=Lower("username")).filter(
            low__in=usernames - set(existing)
        ):
            existing.setdefault(u.username.lower(), u)
    owners: dict[str, str] = {}
    for username, email in User.objects.filter(email__in=[r.email for r in rows if r.email]).values_list("username", "email"):  # fmt: skip
        owners.setdefault(email.lower(), username)
    roles = dict(
        Membership.objects.filter(course=course, user__in=list(existing.values())).values_list(
            "user_id", "role"
        )
    )
    seen_names: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    for r in rows:
        before = len(plan.problems)
        key = r.username.lower()
        if key in seen_names:
            plan.problems.append(
                Problem(r.line, "username", f"{r.username!r} is on line {seen_names[key]} already")
            )
        seen_names.setdefault(key, r.line)
        if r.role not in (Membership.STUDENT, Membership.SUPERVISOR):
            plan.problems.append(
                Problem(r.line, "role", f"unknown role {r.role!r}: student or supervisor")
            )
        user = existing.get(key)
        if user is None:
            _check_new(r, plan, owners, seen_emails)
        if len(plan.problems) > before:
            continue
        if user is None:
            r.action = CREATE
            continue
        r.username = user.username  # as the account spells it
        role = roles.get(user.pk)
        if role is None:
            r.action = ENROL
        elif role == Membership.STUDENT and r.role == Membership.SUPERVISOR:
            r.action = PROMOTE
        else:
            r.action, r.role = UNCHANGED, role  # never lowered by a roster
    plan.lines = rows
    return plan


def _check_new(r: Line, plan: Plan, owners: dict[str, str], seen: dict[str, int]) -> None:
    if problem := accounts.username_problem(r.username):
        plan.problems.append(Problem(r.line, "username", problem))
    if problem := accounts.email_problem(r.email):
        plan.problems.append(Problem(r.line, "email", problem))
    else:
        email = r.email.lower()
        if email in owners:
            plan.problems.append(
                Problem(
                    r.line, "email", f"{r.email} is the e-mail of the account {owners[email]!r}"
                )
            )
        elif email in seen:
            plan.problems.append(
                Problem(r.line, "email", f"{r.email} is on line {seen[email]} already")
            )
        seen.setdefault(email, r.line)
    for name in ("first_name", "last_name"):
        if len(getattr(r, name)) > accounts.NAME_CHARS:
            plan.problems.append(Problem(r.line, name, f"at most {accounts.NAME_CHARS} characters"))


@dataclass
class Applied:
    plan: Plan
    created: list[Any]
    mailed: int


def apply_roster(data: bytes, course: Course) -> Applied:
    """Import the roster if it has no problem (else nothing changes: see ``plan.problems``)."""
    with transaction.atomic():
        plan = read_roster(data, course)
        if not plan.ok:
            return Applied(plan, [], 0)
        User = get_user_model()
        created = User.objects.bulk_create(
            [
                accounts.new_account(r.username, r.email, r.first_name, r.last_name)
                for r in plan.lines
                if r.action == CREATE
            ]
        )
        users = {u.username: u for u in User.objects.filter(username__in=[r.username for r in plan.lines])}  # fmt: skip
        Membership.objects.bulk_create(
            [
                Membership(course=course, user=users[r.username], role=r.role)
                for r in plan.lines
                if r.action in (CREATE, ENROL)
            ]
        )
        promoted = [users[r.username].pk for r in plan.lines if r.action == PROMOTE]
        Membership.objects.filter(course=course, user_id__in=promoted).update(
            role=Membership.SUPERVISOR
        )
    why = f"An assay account was made for you: you are in the course {course.title}."
    return Applied(plan, created, accounts.send_set_password(created, why))
