"""The contract controllers are held to: requirement IDs, features, tolerances, durations.

Every stage reads it; it reads no stage."""
