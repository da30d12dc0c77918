"""Third stage: what the suite sees for itself, without trusting the controller:
the status watch, the recording sink, file directories and the console log."""
