"""Authoring plugins: actions, their context, steps, environment, categories, discovery."""
