"""Sources of papers. Each yields ``Item``s; ``runner.run_ingest`` stores them in batches."""
