"""The expert's record: assessment after each session, credit and sanctions, objections, and
the archive."""
