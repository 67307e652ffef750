"""Meter readings: the parser of residents' messages and the rules of accepting a value."""
