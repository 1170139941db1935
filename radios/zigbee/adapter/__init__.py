"""The zigpy adapter: the only code of hubd that imports zigpy, zigpy-znp or bellows."""

from radios.zigbee.adapter.app import ZigpyAdapter
from radios.zigbee.adapter.events import AdapterListener
from radios.zigbee.adapter.glue import secure_file, validate_config, zigpy_config

__all__ = ["AdapterListener", "ZigpyAdapter", "secure_file", "validate_config", "zigpy_config"]
