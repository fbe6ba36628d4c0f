"""mlloop core: the engine behind the TUI and the CLI. No UI imports, ever."""
