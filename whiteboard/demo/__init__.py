"""Synthetic wards (`synthetic`: names, patients, NEWS2 observations, all made up), the edits a nurse
might make to them (`changes`), and the simulated feed (`feed`) that `whiteboard serve --demo` runs.

May import: `whiteboard.state`, `whiteboard.store`, `whiteboard.domain` and the top-level helpers.
Nothing but `app` and `first_run` imports from here.
"""
