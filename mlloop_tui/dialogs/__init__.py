"""Modal dialogs, all built on :class:`~mlloop_tui.dialogs.base.Dialog`: new run, import, export, confirm, keys, target, tune."""
