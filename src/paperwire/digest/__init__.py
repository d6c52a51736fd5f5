"""Email digests: who is due and for which period (schedule), what they get (compose, mime,
templates/), and the run that records and queues them, once per subscriber and period (run)."""
