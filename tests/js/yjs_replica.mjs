// A replica of a usld crdt-text document kept by Yjs, the JavaScript reference implementation of
// the Yjs CRDT, talking to a real usld over TCP in RESP with binary SYNC and MERGE.
//
// Usage: node yjs_replica.mjs PORT
//
// It checks that: a fresh Yjs doc catches up with SYNC; offline edits handed in with MERGE meet
// the server's own SPLICEs and nothing is lost; two Yjs replicas editing the same spot at once
// converge with the server; merging the same update twice changes nothing the second time; and
// a state vector from Yjs asks only for what it lacks. Prints "yjs replica: ok".

import net from "node:net";
import * as Y from "yjs";

const port = Number(process.argv[2]);

function check(condition, what) {
  if (!condition) {
    console.error(`check failed: ${what}`);
    process.exit(1);
  }
}

// A minimal RESP client: multibulk requests with binary-safe arguments, one reply at a time.
class Resp {
  constructor(socket) {
    this.socket = socket;
    this.buffer = Buffer.alloc(0);
    this.waiting = null;
    socket.on("data", (chunk) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.wake();
    });
  }

  static connect(port) {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, "127.0.0.1", () => resolve(new Resp(socket)));
      socket.on("error", reject);
    });
  }

  wake() {
    if (this.waiting) {
      const reply = this.parse(0);
      if (reply) {
        this.buffer = this.buffer.subarray(reply.end);
        const resolve = this.waiting;
        this.waiting = null;
        resolve(reply.value);
      }
    }
  }

  // Parses one reply at `at`; null when incomplete.
  parse(at) {
    const line = this.buffer.indexOf("\r\n", at);
    if (line < 0) return null;
    const kind = String.fromCharCode(this.buffer[at]);
    const text = this.buffer.subarray(at + 1, line).toString();
    const next = line + 2;
    switch (kind) {
      case "+": return { value: text, end: next };
      case "-": return { value: new Error(text), end: next };
      case ":": return { value: Number(text), end: next };
      case "$": {
        const len = Number(text);
        if (len < 0) return { value: null, end: next };
        if (this.buffer.length < next + len + 2) return null;
        return { value: this.buffer.subarray(next, next + len), end: next + len + 2 };
      }
      case "*": {
        const items = [];
        let end = next;
        for (let i = 0; i < Number(text); i++) {
          const item = this.parse(end);
          if (!item) return null;
          items.push(item.value);
          end = item.end;
        }
        return { value: items, end };
      }
      default: throw new Error(`not RESP: ${kind}${text}`);
    }
  }

  command(...args) {
    const parts = [Buffer.from(`*${args.length}\r\n`)];
    for (const arg of args) {
      const bytes = Buffer.isBuffer(arg) || arg instanceof Uint8Array ? Buffer.from(arg) : Buffer.from(String(arg));
      parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
    }
    const reply = new Promise((resolve) => { this.waiting = resolve; });
    this.socket.write(Buffer.concat(parts));
    this.wake();
    return reply;
  }

  close() { this.socket.end(); }
}

// Applies what the server has and this replica lacks; returns the server's state vector.
async function catchUp(client, id, doc) {
  const [update, serverVector] = await client.command("SYNC", id, Y.encodeStateVector(doc));
  Y.applyUpdate(doc, new Uint8Array(update));
  return new Uint8Array(serverVector);
}

// Hands in what this replica has and the server (as of `serverVector`) lacks.
async function handIn(client, id, doc, serverVector) {
  return client.command("MERGE", id, Y.encodeStateAsUpdate(doc, serverVector));
}

async function serverText(client, id) {
  return JSON.parse((await client.command("GET", id, "PATH", "content")).toString());
}

const client = await Resp.connect(port);
const id = "notes:yjs";
check((await client.command("CREATE", id, "STRATEGY", "crdt-text")) === "OK", "CREATE crdt-text");
check((await client.command("SET", id, "content", '"Meeting agenda"')) === "OK", "SET content");

// A fresh Yjs replica catches up.
const alice = new Y.Doc();
let vector = await catchUp(client, id, alice);
check(alice.getText("content").toString() === "Meeting agenda", `alice caught up: ${alice.getText("content")}`);

// Offline, alice edits while the server's own clients splice the same text.
alice.getText("content").insert(14, ":\n1. Review Q4");
const spliced = await client.command("SPLICE", id, "content", 0, 0, ">> ");
check(spliced === ">> Meeting agenda".length, `SPLICE answers the new length: ${spliced}`);
const merged = await handIn(client, id, alice, vector);
check(merged === 1, `MERGE of alice's edits answered ${merged}`);
vector = await catchUp(client, id, alice);
const text = await serverText(client, id);
check(alice.getText("content").toString() === text, `alice and server agree: ${alice.getText("content")} / ${text}`);
check(text === ">> Meeting agenda:\n1. Review Q4", `no edit lost: ${JSON.stringify(text)}`);

// The same update again changes nothing.
const again = await client.command("MERGE", id, Y.encodeStateAsUpdate(alice));
check(again === 0, `merging what the server has answered ${again}`);

// Two replicas type at the same spot at once; all three converge, keeping both inserts.
const bob = new Y.Doc();
const bobVector = await catchUp(client, id, bob);
alice.getText("content").insert(3, "[A]");
bob.getText("content").insert(3, "[B]");
check((await handIn(client, id, alice, vector)) === 1, "alice's concurrent edit merged");
check((await handIn(client, id, bob, bobVector)) === 1, "bob's concurrent edit merged");
await catchUp(client, id, alice);
await catchUp(client, id, bob);
const final = await serverText(client, id);
check(alice.getText("content").toString() === final && bob.getText("content").toString() === final,
  `converged: ${alice.getText("content")} / ${bob.getText("content")} / ${final}`);
check(final.includes("[A]") && final.includes("[B]"), `both concurrent inserts kept: ${final}`);

// A replica that has everything gets an update that adds nothing.
const [nothing] = await client.command("SYNC", id, Y.encodeStateVector(alice));
const probe = new Y.Doc();
Y.applyUpdate(probe, Y.encodeStateAsUpdate(alice));
Y.applyUpdate(probe, new Uint8Array(nothing));
check(probe.getText("content").toString() === final, "an up-to-date replica's SYNC adds nothing");

client.close();
console.log("yjs replica: ok");
