"""The event transport, knowing no domain app.

envelope (the envelope, the topics), models (the outbox table), outbox (writing events,
publishing after commit, the relay), producer (Kafka producer, topic administration),
routing (what each app registers: event -> Celery task by name), bridge (Kafka -> Celery),
tasks (the relay's periodic task), management commands run_bridge and kafka_init.
"""
