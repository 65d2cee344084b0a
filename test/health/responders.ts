// Tiny real servers for the health e2e tests, started in lab hosts with this same node binary.
import type { ChildProcess } from 'node:child_process';
import { Lab, waitFor } from '../lab/lab';

const scripts = {
  /** Greets on connect (like mysqld), closes when the client closes. */
  greeter: `require('net').createServer({allowHalfOpen:false},s=>{s.on('error',()=>{});s.write('hello from greeter\\n');s.resume()}).listen(+process.argv[1],()=>console.log('listening'))`,
  /** Answers any request with an HTTP/1.0 response, as a web server would for GET /. */
  http: `require('net').createServer(s=>{s.on('error',()=>{});s.once('data',()=>s.end('HTTP/1.0 200 OK\\r\\nContent-Length: 2\\r\\n\\r\\nok'))}).listen(+process.argv[1],()=>console.log('listening'))`,
  /** UDP echo with a prefix. */
  udp: `const d=require('dgram').createSocket('udp4');d.on('message',(m,r)=>d.send(Buffer.concat([Buffer.from('PONG '),m]),r.port,r.address));d.bind(+process.argv[1],()=>console.log('listening'))`,
  /** Accepts and never answers. */
  silent: `require('net').createServer(s=>{s.on('error',()=>{})}).listen(+process.argv[1],()=>console.log('listening'))`,
};

export async function responder(lab: Lab, host: string, kind: keyof typeof scripts, port: number): Promise<ChildProcess> {
  const child = lab.spawn(host, [process.execPath, '-e', scripts[kind], String(port)]);
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  await waitFor(`${kind} responder on ${host}:${port}`, () => out.includes('listening') || (child.exitCode !== null ? Promise.reject(new Error('exited')) : false), 10000);
  return child;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGKILL');
  await exited;
}

/** TcpEstabResets of a lab host: connections that ended with a reset instead of a FIN handshake. */
export async function estabResets(lab: Lab, host: string): Promise<number> {
  const snmp = await lab.sh(host, 'cat /proc/net/snmp');
  const lines = snmp.split('\n').filter((l) => l.startsWith('Tcp:'));
  const keys = lines[0].split(/\s+/);
  const vals = lines[1].split(/\s+/);
  return Number(vals[keys.indexOf('EstabResets')]);
}
