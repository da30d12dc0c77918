"""A small controller for the Broadcast API (broadcast.example.org/v1), whose limits are strict:
whole-second integer retry settings, console and file targets only, attempts named by their
target's type. A third, independent implementation of the notification contract, certified
through ``fixtures/bindings/strict``."""
