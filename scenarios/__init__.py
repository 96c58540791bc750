"""scenarios: scenario generators and the terminal programs that sweep them.

Imports the other three packages; nothing imports it.
"""
