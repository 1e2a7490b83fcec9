// The compare view's address, #/compare/ID,ID,...: what the run list, the leaderboard and
// the view itself link to, and how many runs it takes.

export const MAX_COMPARE = 12;

export function compareHash(ids) {
  return `#/compare/${ids.map(encodeURIComponent).join(",")}`;
}
