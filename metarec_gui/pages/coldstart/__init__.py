"""Cold-start page: what a trained run recommends to a new user, and how it does on a held-out one.

One module per panel: :mod:`.page` (the page: run, tabs, public API), :mod:`.new_user` (rate
items, see the adapted list), :mod:`.results` (adapted vs. un-adapted top-N, how the ranking
moved), :mod:`.why` (why an item is recommended), :mod:`.loss_chart` (the inner loop),
:mod:`.profiles` (saved profiles, demo personas, unsaved-changes questions), :mod:`.ratings`
(the ratings and their undo stack), :mod:`.user_features` (age / gender / ... of the new user),
:mod:`.heldout` (a real test user's hidden ratings) and :mod:`.messages` (status and banner).
Every number comes from ``core``.
"""

from .page import ColdStartPage

__all__ = ["ColdStartPage"]
