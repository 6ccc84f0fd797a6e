"""The text_stats example plugin."""
