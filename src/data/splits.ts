// The leave-one-out split of REGEN (§4.1) over per-user sequences: train = the first N-2 purchases,
// valid = purchase N-1, test = purchase N. Each evaluation row carries its history (the purchases
// before the target) as CSR int32 arrays, the exclusion list the native engine takes as is.

/** A CSR list of item-id lists: row r is ids[offsets[r] .. offsets[r+1]). */
export interface Csr {
  offsets: Int32Array;
  ids: Int32Array;
}

export interface EvalSplit {
  /** Row r predicts the item of event events[r] for user users[r]. */
  users: Int32Array;
  /** The target's event index (its critique, review and time are there). */
  events: Int32Array;
  /** The target item id (events.item at events[r]). */
  targets: Int32Array;
  /** The items before the target, oldest first: the history to show and to exclude. */
  history: Csr;
}

export interface LeaveOneOut {
  /** Per user (all users, in order): the first N-2 items, for training. */
  train: Csr;
  /** Users with at least 3 purchases. */
  valid: EvalSplit;
  /** Users with at least 2 purchases. */
  test: EvalSplit;
}

/** Minimum purchases for a user to give a valid row / a test row (a history of at least one item). */
export const MIN_EVENTS = { valid: 3, test: 2 } as const;

function evalSplit(userOffsets: Int32Array, items: Int32Array, back: number, minEvents: number): EvalSplit {
  const users = userOffsets.length - 1;
  let rows = 0;
  let historyTotal = 0;
  for (let u = 0; u < users; u++) {
    const n = userOffsets[u + 1] - userOffsets[u];
    if (n >= minEvents) {
      rows++;
      historyTotal += n - back;
    }
  }
  const out: EvalSplit = {
    users: new Int32Array(rows),
    events: new Int32Array(rows),
    targets: new Int32Array(rows),
    history: { offsets: new Int32Array(rows + 1), ids: new Int32Array(historyTotal) },
  };
  let r = 0;
  let h = 0;
  for (let u = 0; u < users; u++) {
    const start = userOffsets[u];
    const n = userOffsets[u + 1] - start;
    if (n < minEvents) continue;
    const target = start + n - back;
    out.users[r] = u;
    out.events[r] = target;
    out.targets[r] = items[target];
    out.history.ids.set(items.subarray(start, target), h);
    h += target - start;
    out.history.offsets[++r] = h;
  }
  return out;
}

export function leaveOneOut(userOffsets: Int32Array, items: Int32Array): LeaveOneOut {
  const users = userOffsets.length - 1;
  let total = 0;
  for (let u = 0; u < users; u++) total += Math.max(0, userOffsets[u + 1] - userOffsets[u] - 2);
  const train: Csr = { offsets: new Int32Array(users + 1), ids: new Int32Array(total) };
  let t = 0;
  for (let u = 0; u < users; u++) {
    const start = userOffsets[u];
    const end = Math.max(start, userOffsets[u + 1] - 2);
    train.ids.set(items.subarray(start, end), t);
    t += end - start;
    train.offsets[u + 1] = t;
  }
  return { train, valid: evalSplit(userOffsets, items, 2, MIN_EVENTS.valid), test: evalSplit(userOffsets, items, 1, MIN_EVENTS.test) };
}
