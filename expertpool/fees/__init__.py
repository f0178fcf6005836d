"""fees: published fee schedules, what each expert is owed per session, tax withheld, payments."""
