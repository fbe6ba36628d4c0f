"""Modal dialogs: new run, import, export, confirm, keys."""
