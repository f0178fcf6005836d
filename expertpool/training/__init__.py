"""Continuing education of the pool's experts: courses, hours per year, lapses (issue #22)."""
