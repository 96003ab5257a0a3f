"""Dialogs of the MetaRec app (imported when opened, to keep start-up light)."""
