"""First stage: scenarios as data (``model``), read from files (``load``), and the oracle
that derives what a correct controller must do with each."""
