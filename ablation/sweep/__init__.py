"""Step 3, sweep: the submitting process (fixed and adaptive rounds of jobs, one parent run)."""
