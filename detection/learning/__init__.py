"""Learning from the researchers' verdicts: features and a classifier of groups, and narrative discovery."""
