"""Pure logic of the pgpitr Pulumi program: settings, rendering, policies.

Nothing here declares a resource; components/ does that with what this package computes.
"""
