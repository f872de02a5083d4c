"""The read side: read models built from the event log, and the runner that feeds them."""
