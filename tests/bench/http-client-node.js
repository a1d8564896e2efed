// http-client-node.js: N sequential GETs with Node's fetch (undici, keep-alive),
// for comparison with http-client.lua.   node http-client-node.js URL N
'use strict';

async function main () {
  const [url, nText] = process.argv.slice(2);
  const n = Number(nText);
  const started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const r = await fetch(url);
    await r.arrayBuffer();
    if (r.status !== 200) throw new Error('unexpected status ' + r.status);
  }
  const s = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(`requests ${n} seconds ${s.toFixed(3)} rps ${(n / s).toFixed(0)}`);
}

main();
