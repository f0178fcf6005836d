"""Supervising departments (行政监督部门): their field and region, and who belongs to them."""
