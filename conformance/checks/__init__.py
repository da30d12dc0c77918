"""Fourth stage: what was observed, judged against what the oracle expects, with the
timeline of attempts."""
