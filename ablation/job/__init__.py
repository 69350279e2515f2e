"""Step 4, job: one config (its claim on the tracking store, its attempt, the training child)."""
