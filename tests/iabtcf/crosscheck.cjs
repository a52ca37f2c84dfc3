// Cross-checks our TC strings against IAB Tech Lab's reference library, @iabtechlabtcf/core.
//   1. Scenarios on the KmerOccase TCF policy, recorded with the kmer-consent CLI: the library decodes
//      our strings to exactly the intended purposes and vendors, and every field matches our decoder.
//   2. Random models (seeded) encoded by the library: our decoder reads every field as it does.
// Run by tests/iabtcf/run.sh; ends with "iabtcf: N passed, N failed".
'use strict';

const { execFileSync } = require('child_process');
const fs = require('fs');
const os = require('os');
const path = require('path');

const { TCString, TCModel, GVL } = require(path.join(process.env.IABTCF_MODULES, '@iabtechlabtcf/core'));
const { randomModels } = require('./models.cjs');

const root = path.resolve(__dirname, '../..');
const cli = path.join(root, 'target/debug/kmer-consent');
const policy = path.join(root, 'policies/kmeroccase-tcf.json');
const gvlJson = JSON.parse(fs.readFileSync(process.env.KMER_GVL, 'utf8'));

let passed = 0;
let failed = 0;
function check(name, problems) {
  if (problems.length === 0) {
    passed++;
  } else {
    failed++;
    console.log(`FAILED ${name}:\n  ${problems.join('\n  ')}`);
  }
}

const ids = (vector) => {
  const out = [];
  vector.forEach((value, id) => { if (value) out.push(id); });
  return out.sort((a, b) => a - b);
};
const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

/** The reference library's view of a string, in our decoder's JSON shape. */
function theirs(tcString) {
  const m = TCString.decode(tcString);
  const restrictions = [];
  m.publisherRestrictions.getRestrictions().forEach((r) => {
    restrictions.push({
      purpose_id: r.purposeId,
      restriction_type: r.restrictionType,
      vendors: m.publisherRestrictions.getVendors(r).sort((a, b) => a - b),
    });
  });
  restrictions.sort((a, b) => a.purpose_id - b.purpose_id || a.restriction_type - b.restriction_type);
  return {
    created_deciseconds: Math.round(m.created.getTime() / 100),
    last_updated_deciseconds: Math.round(m.lastUpdated.getTime() / 100),
    cmp_id: Number(m.cmpId),
    cmp_version: Number(m.cmpVersion),
    consent_screen: Number(m.consentScreen),
    consent_language: m.consentLanguage,
    vendor_list_version: Number(m.vendorListVersion),
    policy_version: Number(m.policyVersion),
    is_service_specific: m.isServiceSpecific,
    use_non_standard_texts: m.useNonStandardTexts,
    special_feature_opt_ins: ids(m.specialFeatureOptins),
    purpose_consents: ids(m.purposeConsents),
    purpose_legitimate_interests: ids(m.purposeLegitimateInterests),
    purpose_one_treatment: m.purposeOneTreatment,
    publisher_country_code: m.publisherCountryCode,
    vendor_consents: ids(m.vendorConsents),
    vendor_legitimate_interests: ids(m.vendorLegitimateInterests),
    publisher_restrictions: restrictions,
    disclosed_vendors: ids(m.vendorsDisclosed),
    publisher_purpose_consents: ids(m.publisherConsents),
    publisher_purpose_legitimate_interests: ids(m.publisherLegitimateInterests),
    custom_purpose_count: Number(m.numCustomPurposes),
    custom_purpose_consents: ids(m.publisherCustomConsents),
    custom_purpose_legitimate_interests: ids(m.publisherCustomLegitimateInterests),
  };
}

/** Our decoder's view, from `kmer-consent tcf decode --json`. */
function ours(tcString) {
  const d = JSON.parse(execFileSync(cli, ['tcf', 'decode', tcString, '--json'], { encoding: 'utf8' }));
  const sorted = (list) => [...list].sort((a, b) => a.purpose_id - b.purpose_id || a.restriction_type - b.restriction_type);
  const pub = d.publisher_tc || {};
  return {
    created_deciseconds: d.created_deciseconds,
    last_updated_deciseconds: d.last_updated_deciseconds,
    cmp_id: d.cmp_id,
    cmp_version: d.cmp_version,
    consent_screen: d.consent_screen,
    consent_language: d.consent_language,
    vendor_list_version: d.vendor_list_version,
    policy_version: d.policy_version,
    is_service_specific: d.is_service_specific,
    use_non_standard_texts: d.use_non_standard_texts,
    special_feature_opt_ins: d.special_feature_opt_ins,
    purpose_consents: d.purpose_consents,
    purpose_legitimate_interests: d.purpose_legitimate_interests,
    purpose_one_treatment: d.purpose_one_treatment,
    publisher_country_code: d.publisher_country_code,
    vendor_consents: d.vendor_consents,
    vendor_legitimate_interests: d.vendor_legitimate_interests,
    publisher_restrictions: sorted(d.publisher_restrictions),
    disclosed_vendors: d.disclosed_vendors || [],
    publisher_purpose_consents: pub.purpose_consents || [],
    publisher_purpose_legitimate_interests: pub.purpose_legitimate_interests || [],
    custom_purpose_count: pub.custom_purpose_count || 0,
    custom_purpose_consents: pub.custom_purpose_consents || [],
    custom_purpose_legitimate_interests: pub.custom_purpose_legitimate_interests || [],
  };
}

function differences(expected, actual) {
  return Object.keys(expected)
    .filter((k) => !same(expected[k], actual[k]))
    .map((k) => `${k}: reference ${JSON.stringify(expected[k])}, ours ${JSON.stringify(actual[k])}`);
}

// 1. Our strings, from real decisions on the KmerOccase TCF policy.
const now = '2026-06-01T10:00:00Z';
const nowDeciseconds = Date.parse(now) / 100;
const scenarios = [
  { name: 'accept-all', args: ['accept-all'], purposes: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11], vendors: [755], ac: '2~89~dv.' },
  { name: 'reject-all', args: ['reject-all'], purposes: [], vendors: [], ac: '2~~dv.89' },
  { name: 'statistics only', args: ['set', 'statistics=on'], purposes: [1, 8, 9, 10], vendors: [], ac: '2~~dv.89' },
  { name: 'personalization and marketing', args: ['set', 'personalization=on', 'marketing=on'], purposes: [1, 2, 3, 4, 5, 6, 7, 11], vendors: [755], ac: '2~89~dv.' },
  { name: 'withdraw', args: ['withdraw'], purposes: [], vendors: [], ac: '2~~dv.89' },
];
for (const s of scenarios) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kmer-tcf-'));
  const store = ['--db', path.join(dir, 'c.db'), '--policy', policy, '--now', now];
  execFileSync(cli, [...store, ...s.args], { encoding: 'utf8' });
  const status = JSON.parse(execFileSync(cli, [...store, 'status', '--json'], { encoding: 'utf8' }));
  const tc = status.tc_string;
  const reference = theirs(tc);
  const intended = {
    created_deciseconds: nowDeciseconds,
    last_updated_deciseconds: nowDeciseconds,
    cmp_id: 4095,
    cmp_version: 1,
    consent_screen: 1,
    consent_language: 'FR',
    vendor_list_version: 7,
    policy_version: 4,
    is_service_specific: true,
    use_non_standard_texts: false,
    special_feature_opt_ins: [],
    purpose_consents: s.purposes,
    purpose_legitimate_interests: [],
    purpose_one_treatment: false,
    publisher_country_code: 'CM',
    vendor_consents: s.vendors,
    vendor_legitimate_interests: [],
    publisher_restrictions: [],
    disclosed_vendors: [755],
  };
  const problems = differences(intended, reference);
  problems.push(...differences(reference, ours(tc)));
  const keys = status.iab_tcf_keys;
  const binary = (list, n) => Array.from({ length: n }, (_, i) => (list.includes(i + 1) ? '1' : '0')).join('');
  if (keys.IABTCF_TCString !== tc) problems.push('IABTCF_TCString differs from the TC string');
  if (keys.IABTCF_PurposeConsents !== binary(s.purposes, 11)) problems.push(`IABTCF_PurposeConsents ${keys.IABTCF_PurposeConsents}`);
  if (keys.IABTCF_VendorConsents !== binary(s.vendors, 755)) problems.push('IABTCF_VendorConsents');
  if (keys.IABTCF_gdprApplies !== 1 || keys.IABTCF_PolicyVersion !== 4 || keys.IABTCF_CmpSdkID !== 4095) problems.push('Int keys');
  if (keys.IABTCF_AddtlConsent !== s.ac) problems.push(`IABTCF_AddtlConsent ${keys.IABTCF_AddtlConsent}, expected ${s.ac}`);
  check(`scenario ${s.name}`, problems);
  fs.rmSync(dir, { recursive: true, force: true });
}

// 2. The reference library's strings from random models, read by our decoder.
const models = randomModels({ TCModel, GVL }, gvlJson, 250, 20261126);
for (const [i, m] of models.entries()) {
  let tc;
  try {
    tc = TCString.encode(m);
  } catch (e) {
    check(`random ${i}: reference encode`, [String(e)]);
    continue;
  }
  let actual;
  try {
    actual = ours(tc);
  } catch (e) {
    check(`random ${i}: our decode of ${tc}`, [String(e.stderr || e)]);
    continue;
  }
  check(`random ${i} (${tc.slice(0, 24)}…)`, differences(theirs(tc), actual));
}

// 3. Garbage: our decoder refuses it with exit 1, never a crash.
for (const garbage of ['', 'hello', 'C', 'CPzHq4A+/', 'BOEFEAyOEFEAyAHABDENAI4AAAB9vABAASA', 'CQlJXFAQlJXFA.zzzz']) {
  try {
    execFileSync(cli, ['tcf', 'decode', garbage], { stdio: 'pipe' });
    check(`garbage ${JSON.stringify(garbage)}`, ['decoded without error']);
  } catch (e) {
    check(`garbage ${JSON.stringify(garbage)}`, e.status === 1 ? [] : [`exit ${e.status}`]);
  }
}

console.log(`iabtcf: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
