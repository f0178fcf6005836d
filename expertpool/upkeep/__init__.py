"""The pool's daily upkeep: one run per day under the leader lock, audited (issue #22)."""
