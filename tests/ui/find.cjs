// The one element lookup both engines use inside the page, by role and exact accessible name (as
// playwright's getByRole(role, { name, exact: true }) does for this page's plain labels): the only
// visible element that matches, or an error. Passed to the page as source, so it must stay
// self-contained.
'use strict';

function find(role, name) {
  const selector = { button: 'button, [role="button"]', switch: '[role="switch"]', link: 'a[href]' }[role];
  const label = (e) =>
    e.getAttribute('aria-label') ||
    (e.labels && e.labels.length ? Array.from(e.labels, (l) => l.textContent).join(' ') : e.textContent);
  const hits = Array.from(document.querySelectorAll(selector)).filter(
    (e) => e.getClientRects().length > 0 && label(e).replace(/\s+/g, ' ').trim() === name,
  );
  if (hits.length !== 1) throw new Error(`${hits.length} visible ${role} elements named "${name}"`);
  return hits[0];
}

module.exports = { find };
