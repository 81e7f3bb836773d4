#!/usr/bin/env node
// Run page.html's turnRoundTrip() in headless Chromium and print what it
// found as key=value lines (the style of stuntool.py), for webrtc.sh:
//   node driver.js --url turn:127.0.0.1:3478?transport=udp --user U --pass P
//                  [--timeout MS] [--chromium PATH] [--profile DIR]
// or, with --ws wss://HOST:PORT/turn, page.html's wsBinding(): a STUN
// Binding over a WebSocket from the page.
// Exits 0 when the page ran (whatever it found), 2 when Chromium could not
// be driven at all.
"use strict";

const path = require("path");
const fs = require("fs");
const os = require("os");
const { pathToFileURL } = require("url");

function parseArgs(argv) {
	const a = { timeout: 20000, chromium: "/usr/bin/chromium" };
	for (let i = 0; i < argv.length; i++) {
		const k = argv[i].replace(/^--/, "");
		a[k] = argv[++i];
	}
	a.timeout = Number(a.timeout);
	return a;
}

function emit(key, value) {
	const v = value === undefined || value === null ? "" : String(value);
	process.stdout.write(`${key}=${v.replace(/\n/g, " ")}\n`);
}

async function main() {
	const a = parseArgs(process.argv.slice(2));
	if (!a.ws && (!a.url || !a.user || !a.pass)) {
		console.error("usage: driver.js --url URL --user NAME --pass PASSWORD [--timeout MS]");
		return 2;
	}
	let chromium;
	try {
		({ chromium } = require("playwright-core"));
	} catch (err) {
		emit("error", `playwright-core not installed: ${err.message}`);
		return 2;
	}
	const profile = a.profile || fs.mkdtempSync(path.join(os.tmpdir(), "tern-chromium-"));
	let context;
	// Whatever happens, never outlive the case by much.
	const guard = setTimeout(() => {
		emit("error", "driver timed out");
		process.exit(3);
	}, a.timeout + 15000);
	try {
		// playwright wants the profile here, not as --user-data-dir.
		context = await chromium.launchPersistentContext(profile, {
			executablePath: a.chromium,
			headless: true,
			timeout: 15000,
			args: [
				"--headless",
				"--no-sandbox",
				"--disable-gpu",
				"--disable-quic",
				"--no-first-run",
				"--disable-background-networking",
				"--disable-component-update",
				"--disable-sync",
				// turns: to tern's self-signed certificate
				"--ignore-certificate-errors",
			],
		});
		const page = context.pages()[0] || (await context.newPage());
		page.on("console", (m) => emit("console", m.text()));
		page.on("pageerror", (e) => emit("pageerror", e.message));
		await page.goto(pathToFileURL(path.join(__dirname, "page.html")).href);
		if (a.ws) {
			const w = await page.evaluate(
				(args) => wsBinding(args), // eslint-disable-line no-undef
				{ url: a.ws, timeoutMs: a.timeout, holdMs: 2000 },
			).catch((err) => ({ error: err.message }));
			emit("type", w.type);
			emit("protocol", w.protocol);
			emit("mapped", w.mapped);
			if (w.error) emit("error", w.error);
			return 0;
		}
		const r = await page.evaluate(
			(args) => turnRoundTrip(args), // eslint-disable-line no-undef
			{ urls: a.url, username: a.user, credential: a.pass, timeoutMs: a.timeout },
		);
		emit("open", r.open ? "yes" : "no");
		emit("reply", r.reply);
		for (const side of ["a", "b"]) {
			const s = r[side] || {};
			emit(`${side}_pair`, s.found ? s.state : "none");
			emit(`${side}_local_type`, s.localType);
			emit(`${side}_remote_type`, s.remoteType);
			emit(`${side}_relay_protocol`, s.relayProtocol);
			emit(`${side}_local`, s.localAddress);
			emit(`${side}_remote`, s.remoteAddress);
			emit(`${side}_local_url`, s.localUrl);
			emit(`${side}_bytes`, `${s.bytesSent}/${s.bytesReceived}`);
		}
		emit("seconds", r.seconds);
		if (r.error) emit("error", r.error);
		for (const line of r.log) emit("log", line);
		return 0;
	} catch (err) {
		emit("error", err.message);
		return 2;
	} finally {
		clearTimeout(guard);
		if (context) await context.close().catch(() => {});
		if (!a.profile) fs.rmSync(profile, { recursive: true, force: true });
	}
}

main().then((rc) => process.exit(rc));
