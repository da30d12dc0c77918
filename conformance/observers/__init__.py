"""Observers: what the suite sees for itself, without trusting the controller."""
