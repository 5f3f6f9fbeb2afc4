"""Reader ingest: reads from MQTT and serial readers become smoothed facts, and facts become exactly-once stock effects."""
