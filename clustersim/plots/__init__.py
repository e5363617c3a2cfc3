"""Figures: DataFrames in, matplotlib Figures out. Nothing here chooses a backend or writes a file."""
