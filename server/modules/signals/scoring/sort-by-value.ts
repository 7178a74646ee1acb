/**
 * Sorts `keys` ascending in place and applies the same moves to `index`: an introsort (quicksort, median of
 * three, insertion sort on short runs, heapsort past a depth limit so no input is quadratic). About twice as
 * fast as a comparator-based sort of indices or a native sort plus a binary search per value. (Tests pass
 * `depthLimit` 0 to exercise the heapsort.)
 */
export function sortByValue(keys: Float64Array, index: Uint32Array, depthLimit = 2 * Math.ceil(Math.log2(keys.length))): void {
  if (keys.length < 2) return;
  quicksort(keys, index, 0, keys.length - 1, depthLimit);
}

const SHORT_RUN = 16;

function quicksort(keys: Float64Array, index: Uint32Array, low: number, high: number, depth: number): void {
  while (high - low > SHORT_RUN) {
    if (depth-- === 0) {
      heapsort(keys, index, low, high);
      return;
    }
    const middle = (low + high) >>> 1;
    if (keys[middle] < keys[low]) swap(keys, index, middle, low);
    if (keys[high] < keys[low]) swap(keys, index, high, low);
    if (keys[high] < keys[middle]) swap(keys, index, high, middle);
    const pivot = keys[middle];
    let i = low;
    let j = high;
    while (i <= j) {
      while (keys[i] < pivot) i += 1;
      while (keys[j] > pivot) j -= 1;
      if (i <= j) swap(keys, index, i++, j--);
    }
    // recurse into the shorter side, loop on the longer one: the stack stays logarithmic
    if (j - low < high - i) {
      quicksort(keys, index, low, j, depth);
      low = i;
    } else {
      quicksort(keys, index, i, high, depth);
      high = j;
    }
  }
  for (let i = low + 1; i <= high; i += 1) {
    const key = keys[i];
    const position = index[i];
    let j = i - 1;
    while (j >= low && keys[j] > key) {
      keys[j + 1] = keys[j];
      index[j + 1] = index[j];
      j -= 1;
    }
    keys[j + 1] = key;
    index[j + 1] = position;
  }
}

function heapsort(keys: Float64Array, index: Uint32Array, low: number, high: number): void {
  const count = high - low + 1;
  for (let root = (count >>> 1) - 1; root >= 0; root -= 1) siftDown(keys, index, low, root, count);
  for (let end = count - 1; end > 0; end -= 1) {
    swap(keys, index, low, low + end);
    siftDown(keys, index, low, 0, end);
  }
}

function siftDown(keys: Float64Array, index: Uint32Array, offset: number, root: number, count: number): void {
  for (;;) {
    let child = 2 * root + 1;
    if (child >= count) return;
    if (child + 1 < count && keys[offset + child + 1] > keys[offset + child]) child += 1;
    if (keys[offset + root] >= keys[offset + child]) return;
    swap(keys, index, offset + root, offset + child);
    root = child;
  }
}

function swap(keys: Float64Array, index: Uint32Array, a: number, b: number): void {
  const key = keys[a];
  keys[a] = keys[b];
  keys[b] = key;
  const position = index[a];
  index[a] = index[b];
  index[b] = position;
}
