"""Feedback on submissions: the staff's comments on a line or on the whole submission, what the
student has read of them, and the e-mail that tells them feedback arrived."""
