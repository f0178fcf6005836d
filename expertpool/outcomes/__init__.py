"""outcomes: how a project ends (awarded, failed, cancelled) or is postponed."""
