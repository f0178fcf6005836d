"""Tenderers, agencies and employers as organisations with contact accounts; the tenderer's
representatives named on a project."""
