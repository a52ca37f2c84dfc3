// The TC string baseline for `benches/run.sh`: IAB Tech Lab's reference library, @iabtechlabtcf/core,
// encoding seeded random models (tests/iabtcf/models.cjs, as in the cross-check) and
// decoding the strings it wrote. Writes those strings, one per line, to the file named in argv[2], for
// our codec to time on the same input (benches/tcf.rs). Prints median ns per string.
'use strict';

const fs = require('fs');
const path = require('path');

const { TCString, TCModel, GVL } = require(path.join(process.env.IABTCF_MODULES, '@iabtechlabtcf/core'));
const { randomModels } = require('../tests/iabtcf/models.cjs');
const gvlJson = JSON.parse(fs.readFileSync(process.env.KMER_GVL, 'utf8'));
const quick = (process.env.KMER_BENCH_QUICK || '0') !== '0';

const models = randomModels({ TCModel, GVL }, gvlJson, 300, 20261127);
const strings = models.map((m) => TCString.encode(m));

/** Median over rounds of the ns per item of one pass of f over items. */
function nsPerItem(rounds, items, f) {
  const samples = [];
  for (let r = 0; r < rounds; r++) {
    const start = process.hrtime.bigint();
    for (const item of items) f(item);
    samples.push(Number(process.hrtime.bigint() - start) / items.length);
  }
  samples.sort((a, b) => a - b);
  return samples[Math.floor(samples.length / 2)];
}

let sink = 0;
const decode = (s) => { sink += TCString.decode(s).cmpId; };
const encode = (m) => { sink += TCString.encode(m).length; };
// Warm-up: let V8 optimise both paths before they are timed.
nsPerItem(quick ? 1 : 5, strings, decode);
nsPerItem(quick ? 1 : 5, models, encode);
const rounds = quick ? 3 : 15;
const decodeNs = nsPerItem(rounds, strings, decode);
const encodeNs = nsPerItem(rounds, models, encode);

// Encoding must not have changed the models: the strings timed are the strings written.
models.forEach((m, i) => {
  if (TCString.encode(m) !== strings[i]) throw new Error(`model ${i} changed while encoding`);
});
fs.writeFileSync(process.argv[2], strings.join('\n') + '\n');
console.log(`strings ${strings.length}`);
console.log(`node_decode_ns ${decodeNs.toFixed(1)}`);
console.log(`node_encode_ns ${encodeNs.toFixed(1)}`);
if (sink === -1) console.log(sink);
