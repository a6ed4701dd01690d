"""Sample ingestion: a file becomes a sample's posts and accounts, every rejected row recorded.

services (a sample, an import job, its queueing) -> tasks -> jobs (the import job) -> batches (reading, in
reader_process for a large file) and a writers.BatchWriter: orm_writer (any database) or pg_writer (COPY).
A post seen twice becomes one by detection.engine.records.merge_post, whichever writer stores it.
"""
