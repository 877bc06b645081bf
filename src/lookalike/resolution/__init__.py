"""Resolution: a plan made from a report, applied with a journal, undone from it; pairs marked not duplicates."""
