"""Manual grading: the staff's adjustments of a student's points for an assignment (an override
with its reason, bonus or penalty points, rubric items awarded), with their history."""
