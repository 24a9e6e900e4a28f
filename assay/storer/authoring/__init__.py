"""The assignment editor: a package's files as a draft the staff edit in the pages or the API
(statement, settings and limits, tests, judge, reference solutions), built into a package that
goes the way of an upload (docs/authoring.md)."""
