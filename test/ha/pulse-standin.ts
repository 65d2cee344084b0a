// A stand-in for Piranha's pulse (reference §2.1-2.4) inside a lab namespace, for the migration test: 4-byte
// host-order magics from self:539 to partner:539 every keepalive, pulse's rules on receive and on deadtime, the VIP by
// `ip addr` + arping. Deliberately independent of directord's code. argv: JSON {role,self,partner,vip,prefix,dev,
// label,keepalive,deadtime,statusFile}. SIGTERM: deactivateLvs (VIP down) and exit, as pulse does.
import { createSocket } from 'node:dgram';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync, renameSync } from 'node:fs';

if (!process.argv[2]) {
  process.stdout.write('1..0 # SKIP helper: started by the HA migration lab test inside a namespace\n');
  process.exit(0);
}
const cfg = JSON.parse(process.argv[2]) as {
  role: 'master' | 'backup'; self: string; partner: string; vip: string; prefix: number; dev: string; label: string;
  keepalive: number; deadtime: number; statusFile: string;
};
const RUNNING = 0xbdaddbda;
const STOPPED = 0xadbddabd;
const KNOWN = [RUNNING, STOPPED, 0xbeefbabe, 0xdeadbeef, 0xdeaddada, 0xdeafbabe, 0xdeafdada];
let active = false;
let need = Date.now() + cfg.deadtime * 1000;
const counts = { sent: 0, received: 0, running: 0, stopped: 0, bad: 0, activations: 0, deactivations: 0 };
const log = (msg: string) => process.stdout.write(JSON.stringify({ t: Date.now(), msg, active }) + '\n');

function status(): void {
  writeFileSync(`${cfg.statusFile}.tmp`, JSON.stringify({ pid: process.pid, active, ...counts }));
  renameSync(`${cfg.statusFile}.tmp`, cfg.statusFile);
}

function arps(): void {
  // pulse: send_arp in a grandchild, not waited for.
  spawn('arping', ['-q', '-U', '-c', '3', '-i', cfg.dev, '-S', cfg.vip, cfg.vip], { stdio: 'ignore', detached: false }).on('error', () => undefined);
}

function activateLvs(why: string): void {
  log(why);
  active = true;
  counts.activations++;
  try {
    execFileSync('ip', ['addr', 'add', `${cfg.vip}/${cfg.prefix}`, 'dev', cfg.dev, 'label', cfg.label], { stdio: 'ignore' });
  } catch {
    /* already there */
  }
  arps();
  status();
}

function deactivateLvs(why: string): void {
  log(why);
  if (active) counts.deactivations++;
  active = false;
  try {
    execFileSync('ip', ['addr', 'del', `${cfg.vip}/${cfg.prefix}`, 'dev', cfg.dev], { stdio: 'ignore' });
  } catch {
    /* not there */
  }
  status();
}

const sock = createSocket('udp4');
function heartbeat(): void {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(active ? RUNNING : STOPPED); // host byte order on x86
  sock.send(b, 539, cfg.partner);
  counts.sent++;
}

sock.on('message', (msg, rinfo) => {
  if (rinfo.address !== cfg.partner) return; // "Unexpected heartbeat"
  if (msg.length !== 4) return void counts.bad++; // "bad heartbeat packet"
  const magic = msg.readUInt32LE(0);
  if (!KNOWN.includes(magic)) return void counts.bad++; // "Incompatible heartbeat received"
  counts.received++;
  need = Date.now() + cfg.deadtime * 1000;
  if (magic === RUNNING) {
    counts.running++;
    if (active && cfg.role === 'backup') {
      heartbeat();
      deactivateLvs('partner active: deactivating LVS');
    } else if (active) {
      log('partner active: resending arps');
      arps();
    }
  } else if (magic === STOPPED) {
    counts.stopped++;
    if (!active) activateLvs(cfg.role === 'master' ? 'backup inactive: activating lvs' : 'primary inactive: activating lvs');
  }
});

sock.bind({ address: cfg.self, port: 539 }, () => {
  log(`STARTING PULSE AS ${cfg.role === 'master' ? 'MASTER' : 'BACKUP'}`);
  deactivateLvs('inactive at start');
  setInterval(heartbeat, cfg.keepalive * 1000);
  setInterval(() => {
    if (Date.now() >= need) {
      if (!active) activateLvs('partner dead: activating lvs');
      need = Date.now() + cfg.deadtime * 1000;
    }
    status();
  }, 20);
});

process.on('SIGTERM', () => {
  log('Terminating due to signal 15');
  deactivateLvs('terminating');
  process.exit(0);
});
