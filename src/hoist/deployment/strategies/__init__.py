"""Built-in deployment strategies: one folder per strategy."""
