"""Step 1, config: the command line → grid entries, their identity, every option's check."""
