// Seeded random TC models for the reference library to encode: sparse to dense vendor sets (1 %, 10 %
// and 60 % of the GVL in turn), every core and publisher field varied. Shared by the cross-check
// (tests/iabtcf/crosscheck.cjs) and the TC string benchmark (benches/tcf.cjs).
'use strict';

/** `count` models from `seed`, built with the library's own TCModel and GVL classes. */
function randomModels({ TCModel, GVL }, gvlJson, count, seed) {
  let state = seed;
  const random = () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return state / 2147483648;
  };
  const int = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));
  const subset = (list, p) => list.filter(() => random() < p);
  const vendorIds = Object.keys(gvlJson.vendors).map(Number);
  const letters = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
  const models = [];
  for (let i = 0; i < count; i++) {
    const gvl = new GVL(gvlJson);
    const m = new TCModel(gvl);
    m.cmpId = int(2, 4095);
    m.cmpVersion = int(1, 4095);
    m.consentScreen = int(0, 63);
    m.publisherCountryCode = letters[int(0, 25)] + letters[int(0, 25)];
    m.isServiceSpecific = random() < 0.8;
    m.useNonStandardTexts = random() < 0.3;
    m.purposeOneTreatment = random() < 0.2;
    m.created = new Date(int(1_600_000_000, 1_900_000_000) * 1000 + int(0, 9) * 100);
    m.lastUpdated = new Date(m.created.getTime() + int(0, 10_000_000) * 100);
    m.purposeConsents.set(subset([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], 0.5));
    m.purposeLegitimateInterests.set(subset([2, 7, 8, 9, 10, 11], 0.4));
    m.specialFeatureOptins.set(subset([1, 2], 0.5));
    const density = [0.01, 0.1, 0.6][i % 3];
    m.vendorConsents.set(subset(vendorIds, density));
    m.vendorLegitimateInterests.set(subset(vendorIds, density / 2));
    m.vendorsDisclosed.set(subset(vendorIds, Math.min(1, density * 2)));
    m.publisherConsents.set(subset([1, 2, 3, 4, 7, 8, 9, 10], 0.5));
    m.publisherLegitimateInterests.set(subset([2, 7, 8, 9, 10], 0.3));
    if (random() < 0.3) {
      const n = int(1, 5);
      m.numCustomPurposes = n;
      m.publisherCustomConsents.set(subset([...Array(n).keys()].map((k) => k + 1), 0.5));
      m.publisherCustomLegitimateInterests.set(subset([...Array(n).keys()].map((k) => k + 1), 0.5));
    }
    models.push(m);
  }
  return models;
}

module.exports = { randomModels };
