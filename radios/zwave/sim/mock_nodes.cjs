// The mock nodes of hubd's Z-Wave simulator: device classes, command classes (with the
// capabilities Z-Wave JS's mock behaviours read) and the few behaviours the mock lacks.
"use strict";

const { Bytes } = require("@zwave-js/shared");

// Command class ids (SDS13781 "Z-Wave Application Command Class Specification").
const CC = {
	Basic: 0x20, BinarySwitch: 0x25, MultilevelSwitch: 0x26, BinarySensor: 0x30,
	MultilevelSensor: 0x31, Meter: 0x32, ColorSwitch: 0x33, ThermostatMode: 0x40,
	ThermostatSetpoint: 0x43, CentralScene: 0x5b, DoorLock: 0x62, Supervision: 0x6c,
	Notification: 0x71, ManufacturerSpecific: 0x72, Battery: 0x80, Version: 0x86,
};

// Notification types and events (SDS13713 "Notification Command Class, list of assigned ...").
const SMOKE = 0x01, WATER = 0x05, ACCESS_CONTROL = 0x06, HOME_SECURITY = 0x07;

function caps(generic, specific, productId, commandClasses) {
	return {
		genericDeviceClass: generic, specificDeviceClass: specific,
		manufacturerId: 0xffff, productType: 0x0001, productId,
		commandClasses: [CC.Version, CC.ManufacturerSpecific, ...commandClasses],
	};
}

// Battery Get and Central Scene Supported Get have no mock behaviour in zwave-js 15.29: without
// these answers the interview waits for each of them to time out.
function batteryBehaviour(cc, level) {
	return {
		handleCC(controller, self, received) {
			if (received instanceof cc.BatteryCCGet) {
				return { action: "sendCC", cc: new cc.BatteryCCReport({ nodeId: controller.ownNodeId, level }) };
			}
		},
	};
}

function centralSceneBehaviour(cc, scenes) {
	return {
		handleCC(controller, self, received) {
			if (received instanceof cc.CentralSceneCCSupportedGet) {
				const keys = {};
				for (let s = 1; s <= scenes; s++) keys[s] = [0, 1, 2, 3];
				const report = new cc.CentralSceneCCSupportedReport({
					nodeId: controller.ownNodeId, sceneCount: scenes, supportsSlowRefresh: false,
					supportedKeyAttributes: keys,
				});
				// zwave-js 15.29 serializes this report wrong: SDS13781 Central Scene Supported
				// Report v3 is scenes, (identical | bitmask bytes << 1), one key bitmask.
				report.payload = Bytes.from([scenes, 0x01 | (1 << 1), 0x0f]);
				return { action: "sendCC", cc: report };
			}
			if (received instanceof cc.CentralSceneCCConfigurationGet) {
				return {
					action: "sendCC",
					cc: new cc.CentralSceneCCConfigurationReport({ nodeId: controller.ownNodeId, slowRefresh: false }),
				};
			}
			if (received instanceof cc.CentralSceneCCConfigurationSet) return { action: "ok" };
		},
	};
}

// zwave-js 15.29's mock Setpoint Set refuses any value above the minimum; this one checks bounds.
function setpointBehaviour(cc) {
	return {
		handleCC(controller, self, received) {
			if (received instanceof cc.ThermostatSetpointCCSet) {
				if (received.value < 5 || received.value > 35) return { action: "fail" };
				self.state.set(`ThermostatSetpoint_setpoint_${received.setpointType}`, received.value);
				self.state.set(`ThermostatSetpoint_scale_${received.setpointType}`, received.scale);
				return { action: "ok" };
			}
		},
	};
}

function notification(types) {
	return { ccId: CC.Notification, version: 8, supportsV1Alarm: false, notificationTypesAndEvents: types };
}

function temperature(celsius) {
	return {
		ccId: CC.MultilevelSensor, version: 11, sensors: { 1: { supportedScales: [0] } },
		getValue: () => celsius,
	};
}

const KINDS = {
	binary_switch: {
		// No Meter: zwave-js 15.29's mock Meter Report carries rate type 0, which the driver drops.
		capabilities: () => caps(0x10, 0x01, 1, [{ ccId: CC.BinarySwitch, version: 2 }, CC.Supervision]),
		behaviors: () => [],
	},
	dimmer: {
		capabilities: () => caps(0x11, 0x01, 2, [
			{ ccId: CC.MultilevelSwitch, version: 4, primarySwitchType: 2 }, CC.Supervision,
		]),
		behaviors: () => [],
	},
	door_lock: {
		capabilities: () => caps(0x40, 0x03, 3, [
			{ ccId: CC.DoorLock, version: 4, supportedOperationTypes: [1], supportedDoorLockModes: [0x00, 0xff],
				doorSupported: false, boltSupported: true, latchSupported: false },
			CC.Supervision, { ccId: CC.Battery, version: 1 },
		]),
		behaviors: (cc) => [batteryBehaviour(cc, 80)],
	},
	// Included with S2 Access Control: zwave-js's mock runs the whole S2 bootstrap (KEX, ECDH
	// public keys, the DSK the user confirms with the PIN, network keys, verification).
	door_lock_s2: {
		capabilities: () => ({
			...caps(0x40, 0x03, 10, [
				{ ccId: 0x9f, version: 1 },
				{ ccId: CC.DoorLock, version: 4, supportedOperationTypes: [1], supportedDoorLockModes: [0x00, 0xff],
					doorSupported: false, boltSupported: true, latchSupported: false },
				CC.Supervision,
			]),
			securityClasses: new Set([2]), // SecurityClass.S2_AccessControl
		}),
		behaviors: () => [],
	},
	door_window: {
		capabilities: () => caps(0x07, 0x01, 4, [notification({ [ACCESS_CONTROL]: [0x16, 0x17] }),
			{ ccId: CC.Battery, version: 1 }]),
		behaviors: (cc) => [batteryBehaviour(cc, 90)],
	},
	motion: {
		capabilities: () => caps(0x07, 0x01, 5, [notification({ [HOME_SECURITY]: [0x08] }),
			{ ccId: CC.Battery, version: 1 }]),
		behaviors: (cc) => [batteryBehaviour(cc, 70)],
	},
	leak_smoke: {
		capabilities: () => caps(0x07, 0x01, 6, [notification({ [WATER]: [0x02], [SMOKE]: [0x01] })]),
		behaviors: () => [],
	},
	temperature: {
		capabilities: () => caps(0x21, 0x01, 7, [temperature(21.5), { ccId: CC.Battery, version: 1 }]),
		behaviors: (cc) => [batteryBehaviour(cc, 60)],
	},
	thermostat: {
		capabilities: () => caps(0x08, 0x06, 8, [
			{ ccId: CC.ThermostatMode, version: 3, supportedModes: [0, 1, 2, 3] },
			{ ccId: CC.ThermostatSetpoint, version: 3, setpoints: {
				1: { minValue: 5, maxValue: 35, defaultValue: 20, scale: "°C" },
				2: { minValue: 5, maxValue: 35, defaultValue: 26, scale: "°C" },
			} },
			temperature(20.0), CC.Supervision,
		]),
		behaviors: (cc) => [setpointBehaviour(cc)],
	},
	remote: {
		capabilities: () => caps(0x18, 0x01, 9, [{ ccId: CC.CentralScene, version: 3 },
			{ ccId: CC.Battery, version: 1 }]),
		behaviors: (cc) => [centralSceneBehaviour(cc, 4), batteryBehaviour(cc, 100)],
	},
};

module.exports = { KINDS, CC };
