// Loaded as a plain script before Plotly and the page's modules (index.html): when the page
// opens on a compare view (#/compare/ID,ID,...), ask for each run's first history page
// now, so the server answers while the browser still parses Plotly (about 0.6 s on a
// 2-core machine) and loads the modules. compare/history.js takes each answer once
// (`firstPage`); a failed or missing one is asked for again the usual way.
(() => {
  const match = /^#\/compare\/([^?]+)/.exec(location.hash);
  if (!match) return;
  const ids = match[1].split(",").filter(Boolean).map(decodeURIComponent).slice(0, 12);
  const pages = new Map();
  for (const id of ids) {
    const url = `/api/runs/${encodeURIComponent(id)}/events?after=0&limit=10000`;
    const page = fetch(url).then((r) => (r.ok ? r.json() : Promise.reject(new Error(`${url}: ${r.status}`))));
    page.catch(() => {}); // taken or not, never an unhandled rejection
    pages.set(id, page);
  }
  window.unlearnscopePrefetch = {
    /** The first page of run `id`'s events (after 0, 10,000 at most), once; else null. */
    take(id) {
      const page = pages.get(id) ?? null;
      pages.delete(id);
      return page;
    },
  };
})();
