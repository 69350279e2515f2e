"""Step 2, plan: model surgery, weight mapping and preflight for every config, before any trains.

``python -m ablation.plan`` (``__main__``) runs this step alone.
"""
