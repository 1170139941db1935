#!/usr/bin/env node
// A second, independent Zigbee host: zigbee-herdsman (the library under Zigbee2MQTT) driving a
// coordinator simulator over TCP, to check that the simulator is faithful to the firmware and
// not only to zigpy. It forms a network, permits join, waits for the simulator's devices to join
// and be interviewed, switches each light on and reads it back, waits for the light's report
// and for a sensor's notification, takes a backup, and stops. Every step is one JSON line on
// stdout; herdsman's own log goes to stderr (HERDSMAN_LOG=debug for everything).
//
//   node tools/secondhost/herdsman.mjs --adapter zstack --path tcp://127.0.0.1:PORT \
//        --dir /tmp/x --expect 3 [--timeout-s 90] [--channel 15]
//
// The adapter is herdsman's: zstack (TI Z-Stack, ZNP) or ember (Silicon Labs EmberZNet, EZSP).
// Run it again on the same --dir and stick: herdsman resumes the network, knows the devices from
// its database ("known" lines) and goes straight to control. On the same --dir and a blank stick
// it restores its backup onto it; with --hold it waits after "started" for a line on stdin (time
// for the harness to put the devices on the restored network).
// When a device without a switch (a contact sensor) is interviewed, the script prints
// {"event": "trigger", "ieee": ...} and waits for the device to send something: the harness
// reads that line and makes the simulated device act (open the door).

import fs from "node:fs";
import path from "node:path";
import process from "node:process";
import { parseArgs } from "node:util";

import { Controller, setLogger } from "zigbee-herdsman";

const { values: args } = parseArgs({
    options: {
        adapter: { type: "string", default: "zstack" },
        path: { type: "string" },
        dir: { type: "string" },
        expect: { type: "string", default: "1" },
        "timeout-s": { type: "string", default: "90" },
        channel: { type: "string", default: "15" },
        hold: { type: "boolean", default: false },
    },
});
if (!args.path || !args.dir) {
    process.stderr.write("usage: herdsman.mjs --path tcp://HOST:PORT --dir DIR [--adapter zstack|ember]\n");
    process.exit(2);
}

const started = Date.now();
function emit(event, fields = {}) {
    process.stdout.write(`${JSON.stringify({ event, t_s: (Date.now() - started) / 1000, ...fields })}\n`);
}

const level = process.env.HERDSMAN_LOG ?? "warning";
const levels = ["error", "warning", "info", "debug"];
const logAt = (name) => (message, namespace) => {
    if (levels.indexOf(name) <= levels.indexOf(level)) {
        const text = typeof message === "function" ? message() : message;
        process.stderr.write(`${name} ${namespace}: ${text}\n`);
    }
};
setLogger({ debug: logAt("debug"), info: logAt("info"), warning: logAt("warning"), error: logAt("error") });

const timeout = setTimeout(() => {
    emit("timeout", { after_s: Number(args["timeout-s"]) });
    process.exit(3);
}, Number(args["timeout-s"]) * 1000);

fs.mkdirSync(args.dir, { recursive: true });
const controller = new Controller({
    network: {
        panID: 0x1a62,
        extendedPanID: [0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd, 0xdd],
        channelList: [Number(args.channel)],
        networkKey: [1, 3, 5, 7, 9, 11, 13, 15, 0, 2, 4, 6, 8, 10, 12, 13],
    },
    serialPort: { path: args.path, adapter: args.adapter },
    databasePath: path.join(args.dir, "database.db"),
    databaseBackupPath: path.join(args.dir, "database.db.backup"),
    backupPath: path.join(args.dir, "coordinator_backup.json"),
    adapter: { disableLED: false, transmitPower: 5 },
    acceptJoiningDeviceHandler: async () => true,
});

const expected = Number(args.expect);
const interviewed = new Map();
let allInterviewed;
const allDone = new Promise((resolve) => {
    allInterviewed = resolve;
});
const messageWaiters = [];

function describeDevice(device) {
    return {
        ieee: device.ieeeAddr,
        nwk: device.networkAddress,
        type: device.type,
        manufacturer: device.manufacturerName,
        model: device.modelID,
        power_source: device.powerSource,
        endpoints: device.endpoints.map((ep) => ({
            id: ep.ID,
            profile: ep.profileID,
            device_id: ep.deviceID,
            in: ep.inputClusters,
            out: ep.outputClusters,
        })),
    };
}

controller.on("deviceJoined", ({ device }) => emit("joined", { ieee: device.ieeeAddr, nwk: device.networkAddress }));
controller.on("deviceAnnounce", ({ device }) => emit("announce", { ieee: device.ieeeAddr }));
controller.on("deviceLeave", ({ ieeeAddr }) => emit("left", { ieee: ieeeAddr }));
controller.on("permitJoinChanged", ({ permitted, time }) => emit("permit_join", { permitted, time }));
controller.on("deviceInterview", ({ status, device }) => {
    if (status === "started") {
        return;
    }
    emit("interview", { status, ...describeDevice(device) });
    if (status === "successful") {
        interviewed.set(device.ieeeAddr, device);
        if (interviewed.size >= expected) {
            allInterviewed();
        }
    }
});
controller.on("message", (message) => {
    emit("message", {
        ieee: message.device.ieeeAddr,
        type: message.type,
        cluster: message.cluster,
        endpoint: message.endpoint.ID,
        data: Buffer.isBuffer(message.data) ? message.data.toString("hex") : message.data,
    });
    for (const waiter of messageWaiters.splice(0)) {
        waiter(message);
    }
});

function nextMessage(predicate) {
    return new Promise((resolve) => {
        const waiter = (message) => (predicate(message) ? resolve(message) : messageWaiters.push(waiter));
        messageWaiters.push(waiter);
    });
}

function nextStdinLine() {
    return new Promise((resolve) => {
        process.stdin.once("data", () => {
            process.stdin.pause();
            resolve();
        });
    });
}

async function controlLight(device, endpoint) {
    await endpoint.bind("genOnOff", controller.getDevicesByType("Coordinator")[0].getEndpoint(1));
    await endpoint.configureReporting("genOnOff", [
        { attribute: "onOff", minimumReportInterval: 0, maximumReportInterval: 3600, reportableChange: 0 },
    ]);
    const report = nextMessage((m) => m.device === device && m.type === "attributeReport" && m.cluster === "genOnOff");
    const sentAt = performance.now();
    await endpoint.command("genOnOff", "on", {});
    const confirmedS = (performance.now() - sentAt) / 1000;
    const reported = await report;
    const read = await endpoint.read("genOnOff", ["onOff"]);
    emit("command", {
        ieee: device.ieeeAddr,
        command: "genOnOff.on",
        confirmed_s: confirmedS,
        reported_on_off: reported.data.onOff,
        read_on_off: read.onOff,
    });
}

async function awaitSensor(device) {
    const notified = nextMessage((m) => m.device === device);
    emit("trigger", { ieee: device.ieeeAddr });
    const message = await notified;
    emit("sensor", { ieee: device.ieeeAddr, type: message.type, cluster: message.cluster });
}

try {
    const result = await controller.start();
    const coordinator = controller.getDevicesByType("Coordinator")[0];
    const version = await controller.getCoordinatorVersion();
    const network = await controller.getNetworkParameters();
    emit("started", { result, coordinator: coordinator?.ieeeAddr, version, network });
    if (args.hold) {
        await nextStdinLine(); // the harness puts the devices on the restored stick meanwhile
    }
    // After a restart the devices are in herdsman's database already: nothing to join
    for (const device of controller.getDevices()) {
        if (device.type !== "Coordinator" && device.interviewState === "SUCCESSFUL") {
            emit("known", describeDevice(device));
            interviewed.set(device.ieeeAddr, device);
        }
    }
    if (interviewed.size < expected) {
        await controller.permitJoin(120);
        await allDone;
    }
    for (const device of interviewed.values()) {
        const light = device.endpoints.find((ep) => ep.supportsInputCluster("genOnOff"));
        if (light) {
            await controlLight(device, light);
        } else if (device.type === "EndDevice") {
            await awaitSensor(device);
        }
    }
    if (controller.getPermitJoin()) {
        await controller.permitJoin(0);
    }
    await controller.backup();
    const backup = JSON.parse(fs.readFileSync(path.join(args.dir, "coordinator_backup.json"), "utf8"));
    emit("backup", {
        // link_key is the key herdsman derived from the TCLK seed and entry (a simulator's: no secret)
        devices: backup.devices.map((d) => ({ ieee: d.ieee_address, nwk: d.nwk_address, link_key: d.link_key?.key ?? null })),
    });
    await controller.stop();
    emit("done");
    process.exit(0); // herdsman leaves timers behind (database saves) that hold the loop ~60 s
} catch (error) {
    emit("error", { message: String(error?.stack ?? error) });
    try {
        await controller.stop();
    } catch {
        // the adapter may be gone already
    }
    process.exit(1);
}
