// The one binary search of the page: the last item at or before a value, in sorted items.

/** Largest index i with key(items[i]) <= x (items sorted by key), or -1 if none. */
export function lastAtOrBefore(items, x, key = (v) => v) {
  let lo = 0;
  let hi = items.length - 1;
  let found = -1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (key(items[mid]) <= x) {
      found = mid;
      lo = mid + 1;
    } else {
      hi = mid - 1;
    }
  }
  return found;
}
