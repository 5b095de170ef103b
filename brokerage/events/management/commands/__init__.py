"""run_bridge and kafka_init."""
