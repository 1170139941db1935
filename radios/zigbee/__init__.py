"""Zigbee radio: the zigpy adapter driver and its TI Z-Stack coordinator simulator."""
