// End to end in namespaces: a BIRD router with ECMP, three directors each running BIRD + directord (BGP with BFD),
// two real servers, a client. The VIP's route has one next hop per director that can forward it, and loses it when
// that director loses its servers, stops, or dies (BFD). Timings are measured in bench/scaleout.ts, not here.
import t from 'tap';
import { labAvailable } from '../lab/lab';
import { haveTool, skipUnless } from '../lab/needs';
import { execIn } from '../lab/ns-exec';
import { BgpLab, BGP_LAB } from './bgp-lab';

const skip = !labAvailable() ? 'needs root and ip netns' : skipUnless(haveTool('bird', ['--version']), 'bird (Debian bird2) not installed');

/** n connections from the client through the VIP; the greeting says which real server answered. */
async function connect(b: BgpLab, n: number): Promise<string[]> {
  const js = `const net=require('net');let left=${n};const out=[];for(let i=0;i<${n};i++){const s=net.connect(${BGP_LAB.port},'${BGP_LAB.vip}');s.setTimeout(3000,()=>{out.push('timeout');s.destroy();});s.on('data',(d)=>{out.push(String(d).trim());s.destroy();});s.on('error',(e)=>{out.push('error '+e.code);});s.on('close',()=>{if(--left===0)console.log(JSON.stringify(out));});}`;
  const r = await execIn(b.lab, 'client', ['node', '-e', js], 15000);
  return JSON.parse(r.stdout || '[]') as string[];
}

t.test('three directors announce the VIP; the router spreads flows; withdrawals on server loss, stop and death', { skip }, async (t) => {
  const t0 = Date.now();
  const mark = (what: string) => t.comment(`${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
  // BFD 100 ms x 5: tight enough to beat the hold time by far, loose enough for a lab sharing 2 loaded cores.
  const b = await BgpLab.create({ directors: 3, bfdInterval: 0.1, bfdMultiplier: 5 });
  t.teardown(() => b.destroy());
  mark('lab built');
  for (const i of [1, 2, 3]) await b.startDirector(i);
  t.same(await b.waitNextHops([1, 2, 3]), [BGP_LAB.director(1), BGP_LAB.director(2), BGP_LAB.director(3)], 'one next hop per director');

  const st = await b.directors.get(1)!.status();
  t.equal(st.ha.role, 'scale-out');
  // Each announced only once it held its peers' tables (the join), ended by the sync, not by the 30 s deadline.
  for (const i of [1, 2, 3]) t.match((await b.directors.get(i)!.status()).ha.scaleOut?.join, { phase: 'joined', endedBy: 'synced' }, `d${i} joined by the sync`);
  t.match(st.bgp, { speaker: 'bird', reachable: true, peers: [{ peer: BGP_LAB.router, established: true, bfd: 'Up' }], vips: [{ vip: BGP_LAB.vip, wanted: true, announced: true }] });
  const text = (await b.directors.get(1)!.ctl(['status'])).stdout;
  t.match(text, /peer 10\.0\.0\.1 \(directord_peer1\): Established/);
  t.match(text, /VIP 10\.2\.0\.100: announced \(2 healthy real servers\)/);

  mark('const answers');
  const answers = await connect(b, 30);
  t.equal(answers.filter((a) => a === 's1' || a === 's2').length, 30, `every connection answered by a real server: ${answers.join(' ')}`);
  const used = [];
  for (const i of [1, 2, 3]) if (((await b.directors.get(i)!.status()).services[0]?.conns ?? 0) > 0) used.push(i);
  t.ok(used.length >= 2, `ECMP spread the flows over several directors (${used.join(',')})`);

  // d1 loses both real servers (its checks can no longer reach them) → it withdraws; the others keep announcing.
  mark("await b.lab.sh('d1', `ip route");
  await b.lab.sh('d1', `ip route add prohibit ${BGP_LAB.server(1)}/32 && ip route add prohibit ${BGP_LAB.server(2)}/32`);
  await b.waitNextHops([2, 3]);
  t.match((await b.directors.get(1)!.status()).bgp, { peers: [{ established: true }], vips: [{ wanted: false, announced: false, reason: 'no healthy real server' }] }, 'session stays up, route withdrawn');
  mark("await b.lab.sh('d1', `ip route");
  await b.lab.sh('d1', `ip route del prohibit ${BGP_LAB.server(1)}/32 && ip route del prohibit ${BGP_LAB.server(2)}/32`);
  await b.waitNextHops([1, 2, 3]);

  // drain-director (scale-out): the route goes, the session stays, forwarding goes on; undrain brings it back.
  const dr = await b.directors.get(2)!.ctl(['drain-director'], 30000);
  t.equal(dr.code, 0, `drain-director: exit ${dr.code}: ${dr.stdout}${dr.stderr}`);
  await b.waitNextHops([1, 3]);
  t.match((await b.directors.get(2)!.status()).bgp, { draining: true, peers: [{ established: true }], vips: [{ wanted: false, reason: /drain/ }] });
  t.equal((await b.directors.get(2)!.ctl(['undrain-director'], 30000)).code, 0);
  await b.waitNextHops([1, 2, 3]);

  // directord stops (SIGTERM): the route goes before the daemon; bird keeps running with the session up.
  mark('await b.directors.get(3)!.stop');
  await b.directors.get(3)!.stop('SIGTERM');
  await b.waitNextHops([1, 2]);
  t.match(await b.birdc('router', ['show', 'protocols', 'd3']), /d3\s+BGP\s+---\s+up\s+\S+\s+Established/, 'd3 session still Established: a withdrawal, not a dropped session');

  // d2 dies outright (bird and directord -9): BFD tells the router, long before the BGP hold time (240 s).
  mark('await b.killDirector(2);');
  await b.killDirector(2);
  await b.waitNextHops([1], 5000);
  t.match(await b.birdc('router', ['show', 'protocols', 'all', 'd2']), /BFD session down/, 'the router dropped d2 because of BFD');
  mark('const after');
  const after = await connect(b, 10);
  t.equal(after.filter((a) => a === 's1' || a === 's2').length, 10, 'new connections all go through d1');
});

t.test('a directord killed -9 leaves its route announced; `directord --cleanup` (ExecStopPost) withdraws it', { skip }, async (t) => {
  const b = await BgpLab.create({ directors: 1, bfdInterval: 0.1, bfdMultiplier: 5 });
  t.teardown(() => b.destroy());
  const d = await b.startDirector(1);
  await b.waitNextHops([1]);
  await d.stop('SIGKILL');
  await new Promise((r) => setTimeout(r, 1000));
  t.same(await b.nextHops(), [BGP_LAB.director(1)], 'bird alone keeps announcing (why ExecStopPost runs --cleanup)');
  const { paths } = await import('../lab/build-lab');
  const r = await execIn(b.lab, 'd1', ['node', paths.directord, '--cleanup', '--config', b.configFile(1), '--socket', d.opts.socket], 20000);
  t.equal(r.code, 0, r.stdout + r.stderr);
  t.match(r.stdout, /"bgp":"withdrawn"/);
  await b.waitNextHops([]);
});
