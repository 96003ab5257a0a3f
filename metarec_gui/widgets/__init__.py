"""Reusable widgets of the app (loss plot, config form, log panel, star rating, ...)."""
