// The TC string baseline for `benches/run.sh`: IAB Tech Lab's reference library, @iabtechlabtcf/core,
// encoding seeded random models (sparse to dense vendor sets, as in tests/iabtcf/crosscheck.cjs) and
// decoding the strings it wrote. Writes those strings, one per line, to the file named in argv[2], for
// our codec to time on the same input (benches/tcf.rs). Prints median ns per string.
'use strict';

const fs = require('fs');
const path = require('path');

const { TCString, TCModel, GVL } = require(path.join(process.env.IABTCF_MODULES, '@iabtechlabtcf/core'));
const gvlJson = JSON.parse(fs.readFileSync(process.env.KMER_GVL, 'utf8'));
const quick = (process.env.KMER_BENCH_QUICK || '0') !== '0';

let seed = 20261127;
const random = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return seed / 2147483648;
};
const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
const subset = (list, p) => list.filter(() => random() < p);
const vendorIds = Object.keys(gvlJson.vendors).map(Number);

const COUNT = 300;
const models = [];
for (let i = 0; i < COUNT; i++) {
  const m = new TCModel(new GVL(gvlJson));
  m.cmpId = int(2, 4095);
  m.cmpVersion = int(1, 4095);
  m.consentScreen = int(0, 63);
  m.publisherCountryCode = 'CM';
  m.isServiceSpecific = true;
  m.created = new Date(int(1_700_000_000, 1_900_000_000) * 1000);
  m.lastUpdated = m.created;
  m.purposeConsents.set(subset([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.5));
  m.specialFeatureOptins.set(subset([1, 2], 0.5));
  const density = [0.01, 0.1, 0.6][i % 3];
  m.vendorConsents.set(subset(vendorIds, density));
  m.vendorLegitimateInterests.set(subset(vendorIds, density / 2));
  m.vendorsDisclosed.set(subset(vendorIds, Math.min(1, density * 2)));
  m.publisherConsents.set(subset([1, 2, 3, 4, 7, 8, 9, 10], 0.5));
  models.push(m);
}
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
