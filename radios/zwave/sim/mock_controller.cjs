#!/usr/bin/env node
// hubd's Z-Wave simulator: Z-Wave JS's own mock controller and mock nodes behind a Serial API
// on TCP, plus a line-JSON control port for tests, the demo and the benchmark.
//
// Why not zwave-js's `mock-server` bin as it is:
// - it hands each TCP chunk to the mock serial port as one message, and crashes when an ACK and
//   a frame arrive in one chunk; here every chunk is split into Serial API frames first
//   (INS12350 "Serial API Host Appl. Prg. Guide" 5.1: ACK/NAK/CAN are single bytes, a data frame
//   is SOF, LEN, LEN bytes);
// - it advertises itself by mDNS; here nothing is advertised and both ports bind 127.0.0.1;
// - its mock controller cannot exclude a node; here a behaviour does (Ready, NodeFound,
//   RemovingSlave, Done), and tests need to trigger node reports and see the frames nodes get.
//
// Usage: node mock_controller.cjs --port P --control-port C [--nodes 2:dimmer,...] [--state FILE]
//        [--names '{"2": ["Hall lamp", "Hall"]}']
// Control lines (JSON, one per line) -> answers {"ok": true, ...} or {"ok": false, "error": ...}:
//   {"op": "include", "kind": "binary_switch", "id": 20}  a node waits to be included
//   {"op": "exclude", "id": 20}                            a node waits to be excluded
//   {"op": "notify", "id": 5, "type": 6, "event": 22}     Notification Report from node 5
//   {"op": "scene", "id": 9, "scene": 1, "key": 0}         Central Scene Notification
//   {"op": "sensor", "id": 7, "celsius": 21.5}             Multilevel Sensor Report
//   {"op": "nodes"}                                        the node ids the controller has
// Unsolicited lines: {"ev": "frame", "id": N, "cc": "BinarySwitchCCSet", "t_ns": ...} for every
// command a mock node receives; "t_ns" is CLOCK_MONOTONIC, like Python's time.monotonic_ns().
"use strict";

const net = require("node:net");
const fs = require("node:fs");
const { createAndOpenMockedZWaveSerialPort } = require("@zwave-js/serial/mock");
const { MockController, MockNode, createMockZWaveRequestFrame } = require("@zwave-js/testing");
const {
	createDefaultMockControllerBehaviors,
	createDefaultMockNodeBehaviors,
} = require("zwave-js/Testing");
const cc = require("@zwave-js/cc");
const serialapi = require("@zwave-js/serial/serialapi");
const { Bytes } = require("@zwave-js/shared");
const { KINDS } = require("./mock_nodes.cjs");

function arg(name, fallback) {
	const i = process.argv.indexOf(name);
	return i === -1 ? fallback : process.argv[i + 1];
}

const PORT = Number(arg("--port", "5555"));
const CONTROL_PORT = Number(arg("--control-port", "5556"));
const STATE_FILE = arg("--state", "");
const DEFAULT_NODES = "2:binary_switch,3:dimmer,4:door_lock,5:door_window,6:motion,7:temperature,8:thermostat,9:remote";
const controlClients = new Set();

function now_ns() {
	return process.hrtime.bigint().toString();
}

function broadcast(obj) {
	const line = JSON.stringify(obj) + "\n";
	for (const socket of controlClients) socket.write(line);
}

// Records what each mock node receives (the "frame read by the mock" end of the benchmark).
const recordFrames = {
	handleCC(controller, self, receivedCC) {
		broadcast({ ev: "frame", id: self.id, cc: receivedCC.constructor.name, t_ns: now_ns() });
		return undefined;
	},
};

// Names and locations the nodes carry themselves (Node Naming and Location CC), by node id.
const NAMES = JSON.parse(arg("--names", "{}"));

function capabilitiesOf(id, spec) {
	const capabilities = spec.capabilities();
	const named = NAMES[String(id)];
	if (named) capabilities.commandClasses.push({ ccId: 0x77, name: named[0], location: named[1] ?? "" });
	return capabilities;
}

async function createNode(controller, id, kind) {
	const spec = KINDS[kind];
	if (!spec) throw new Error(`unknown node kind ${kind}`);
	const node = await MockNode.create({ id, controller, capabilities: capabilitiesOf(id, spec) });
	// defineBehavior puts behaviours in front of the earlier ones: ours must come later.
	node.defineBehavior(...createDefaultMockNodeBehaviors());
	node.defineBehavior(...spec.behaviors(cc));
	node.defineBehavior(recordFrames);
	return node;
}

// The mock controller's own RemoveNode answers Ready and then nothing (and stays "removing",
// refusing the next inclusion); this one excludes the node queued by the control port.
function excludeBehavior(pending) {
	return {
		async onHostMessage(controller, msg) {
			if (!(msg instanceof serialapi.RemoveNodeFromNetworkRequest)) return;
			const report = (status, nodeId) => controller.sendMessageToHost(
				new serialapi.RemoveNodeFromNetworkRequestStatusReport({
					callbackId: msg.callbackId, status, ...(nodeId ? { nodeId } : {}),
				}));
			const S = serialapi.RemoveNodeStatus;
			if (msg.removeNodeType === serialapi.RemoveNodeType.Stop) {
				// INS12350 REMOVE_NODE_STOP: a callback only when the host asked for one.
				if (msg.callbackId !== 0) await report(S.Failed);
				return true;
			}
			const node = pending.node;
			await report(S.Ready);
			if (!node) return true; // nobody presses a button: the host stops it in time
			pending.node = undefined;
			setTimeout(async () => {
				await report(S.NodeFound);
				await report(S.RemovingSlave, node.id);
				controller.removeNode(node);
				await report(S.Done, node.id);
				saveState(controller);
			}, 20);
			return true;
		},
	};
}

// zwave-js 15.29's mock controller stays "adding" after an inclusion the host ended without a
// Stop it recognises, and then refuses the next one; a new inclusion starts afresh, as a real
// controller's does.
const restartInclusion = {
	async onHostMessage(controller, msg) {
		if (msg instanceof serialapi.AddNodeToNetworkRequest
			&& msg.addNodeType !== serialapi.AddNodeType.Stop) {
			controller.state.set("inclusionState", 0); // MockControllerInclusionState.Idle
		}
		return undefined; // the default behaviour handles the request itself
	},
};

const kindsById = new Map();

function saveState(controller) {
	if (!STATE_FILE) return;
	const nodes = [...controller.nodes.keys()].filter((id) => kindsById.has(id))
		.map((id) => `${id}:${kindsById.get(id)}`);
	fs.writeFileSync(STATE_FILE, nodes.join(","));
}

// Serial API framing (INS12350 5.1): split a byte stream into single frames.
function splitter(write) {
	let buffer = Buffer.alloc(0);
	return (chunk) => {
		buffer = Buffer.concat([buffer, chunk]);
		while (buffer.length > 0) {
			const first = buffer[0];
			let size;
			if (first === 0x06 || first === 0x15 || first === 0x18) size = 1;
			else if (first === 0x01) {
				if (buffer.length < 2) return;
				size = buffer[1] + 2;
			} else size = 1; // garbage: hand it on alone, the Serial API parser skips it
			if (buffer.length < size) return;
			write(buffer.subarray(0, size));
			buffer = buffer.subarray(size);
		}
	};
}

async function main() {
	const { serial, port: mockPort } = await createAndOpenMockedZWaveSerialPort();
	// The mock controller needs network keys of its own for nodes to run S2; the host's keys
	// reach an included node through the S2 bootstrap, as on a real network.
	const key = () => Uint8Array.from(require("node:crypto").randomBytes(16));
	const controller = await MockController.create({
		homeId: 0x7e570001, ownNodeId: 1, mockPort, serial,
		securityKeys: { S0_Legacy: key(), S2_Unauthenticated: key(), S2_Authenticated: key(), S2_AccessControl: key() },
	});
	const pendingExclusion = { node: undefined };
	controller.defineBehavior(...createDefaultMockControllerBehaviors());
	controller.defineBehavior(excludeBehavior(pendingExclusion), restartInclusion);

	let initial = arg("--nodes", DEFAULT_NODES);
	if (STATE_FILE && fs.existsSync(STATE_FILE)) initial = fs.readFileSync(STATE_FILE, "utf8");
	for (const item of initial.split(",").filter(Boolean)) {
		const [id, kind] = item.split(":");
		controller.addNode(await createNode(controller, Number(id), kind));
		kindsById.set(Number(id), kind);
	}
	saveState(controller);

	// The Serial API end: one host at a time, as a stick has one USB host.
	const { Faucet, ZWaveSerialFrameType } = require("@zwave-js/serial");
	const faucet = new Faucet(serial.readable);
	const server = net.createServer((socket) => {
		socket.setNoDelay(true);
		const writable = new WritableStream({
			write(chunk) {
				if (chunk.type !== ZWaveSerialFrameType.SerialAPI) return;
				socket.write(typeof chunk.data === "number" ? Uint8Array.from([chunk.data]) : chunk.data);
			},
		});
		faucet.connect(writable);
		const feed = splitter((frame) => {
			serial.writeAsync(Uint8Array.from(frame)).catch((e) => console.error("serial write", e));
		});
		socket.on("data", feed);
		socket.on("error", () => socket.destroy());
		socket.on("close", () => {
			faucet.disconnect();
			void writable.close().catch(() => {});
		});
	});
	server.maxConnections = 1;

	const control = net.createServer((socket) => {
		socket.setNoDelay(true);
		controlClients.add(socket);
		let text = "";
		socket.on("data", async (data) => {
			text += data.toString("utf8");
			let nl;
			while ((nl = text.indexOf("\n")) >= 0) {
				const line = text.slice(0, nl);
				text = text.slice(nl + 1);
				let answer;
				try {
					answer = { ok: true, ...(await handle(controller, pendingExclusion, JSON.parse(line))) };
				} catch (e) {
					answer = { ok: false, error: String(e && e.message || e) };
				}
				socket.write(JSON.stringify(answer) + "\n");
			}
		});
		socket.on("error", () => socket.destroy());
		socket.on("close", () => controlClients.delete(socket));
	});

	await new Promise((resolve) => server.listen({ host: "127.0.0.1", port: PORT }, resolve));
	await new Promise((resolve) => control.listen({ host: "127.0.0.1", port: CONTROL_PORT }, resolve));
	console.log(`mock controller listening serial=tcp://127.0.0.1:${server.address().port} `
		+ `control=127.0.0.1:${control.address().port}`);
	const stop = () => process.exit(0);
	process.on("SIGINT", stop);
	process.on("SIGTERM", stop);
}

function nodeOf(controller, id) {
	const node = controller.nodes.get(id);
	if (!node) throw new Error(`no node ${id}`);
	return node;
}

async function send(node, command) {
	const t_ns = now_ns();
	await node.sendToController(createMockZWaveRequestFrame(command, { ackRequested: false }));
	return { t_ns };
}

async function handle(controller, pendingExclusion, req) {
	const self = controller.ownNodeId;
	switch (req.op) {
		case "include": {
			const spec = KINDS[req.kind];
			if (!spec) throw new Error(`unknown node kind ${req.kind}`);
			kindsById.set(req.id, req.kind);
			controller.nodePendingInclusion = {
				id: req.id,
				capabilities: capabilitiesOf(req.id, spec),
				setup: (node) => {
					node.defineBehavior(...spec.behaviors(cc));
					node.defineBehavior(recordFrames);
					// What the label on a real device shows: the PIN, the first five digits of its DSK
					// (the first 16 bytes of its public key as eight 16-bit groups). MockNode's own
					// dsk/s2Pin getters in zwave-js 15.29 start one byte late, so compute it here.
					const key = node.ecdhKeyPair.publicKey;
					const pin = String((key[0] << 8) | key[1]).padStart(5, "0");
					broadcast({ ev: "dsk", id: node.id, dsk: node.dsk, pin });
				},
			};
			setTimeout(() => saveState(controller), 3000);
			return {};
		}
		case "exclude":
			pendingExclusion.node = nodeOf(controller, req.id);
			kindsById.delete(req.id);
			return {};
		case "notify":
			return send(nodeOf(controller, req.id), new cc.NotificationCCReport({
				nodeId: self, notificationType: req.type, notificationEvent: req.event,
			}));
		case "scene": {
			const node = nodeOf(controller, req.id);
			const seq = ((node.state.get("scene_seq") ?? 0) + 1) % 256;
			node.state.set("scene_seq", seq);
			const notification = new cc.CentralSceneCCNotification({
				nodeId: self, sequenceNumber: seq, sceneNumber: req.scene, keyAttribute: req.key,
			});
			// zwave-js 15.29 cannot serialize this command (its payload stays empty): set it by
			// hand, SDS13781 Central Scene Notification: sequence, key attributes, scene.
			notification.payload = Bytes.from([seq, req.key & 0x07, req.scene]);
			return send(node, notification);
		}
		case "sensor":
			return send(nodeOf(controller, req.id), new cc.MultilevelSensorCCReport({
				nodeId: self, type: 0x01, scale: 0x00, value: req.celsius,
			}));
		case "nodes":
			return {
				nodes: [...controller.nodes.keys()],
				inclusion: controller.state.get("inclusionState"),
				pending: controller.nodePendingInclusion?.id ?? null,
			};
		default:
			throw new Error(`unknown op ${req.op}`);
	}
}

// A host that vanishes mid-exchange (zwave-js-server killed or restarted) leaves the mock
// waiting for an ACK that never comes; zwave-js's mock then rejects a promise nobody awaits,
// which would end this process. A real stick stays up for the next host: so does this one.
process.on("unhandledRejection", (e) => {
	console.error(`mock controller: host gone mid-exchange: ${e && e.message || e}`);
});

main().catch((e) => {
	console.error(e);
	process.exit(1);
});
