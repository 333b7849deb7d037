"""The command line: the only layer that prints errors or chooses exit codes."""
