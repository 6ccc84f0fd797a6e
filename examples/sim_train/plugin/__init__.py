"""The sim_train example plugin."""
