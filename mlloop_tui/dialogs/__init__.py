"""Modal dialogs on one base (:class:`~mlloop_tui.dialogs.base.Dialog`): new run, import, export, confirm, keys,
target score, tune."""
