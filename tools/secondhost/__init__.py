"""A second, independent Zigbee host (zigbee-herdsman) run against the coordinator simulators."""
