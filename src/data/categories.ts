// Category paths as a tree of prefixes: node k stands for one path from the root ("Office Products >
// Office & School Supplies > ..."), items point at the node of their full path. Two items share as many
// levels as the depth of their deepest common node, which is how REGEN decides where critiques go
// (adjacent purchases sharing at least four levels).
import type { TextColumn } from './text-column.js';

/** Adjacent purchases whose category paths share at least this many levels get a critique (REGEN §3). */
export const CRITIQUE_MIN_SHARED_LEVELS = 4;

export interface CategoryTree {
  readonly count: number;
  /** Parent node, -1 for a root. */
  readonly parent: Int32Array;
  /** 1 for a root. */
  readonly depth: Uint8Array;
  /** The level's own name (not the whole path). */
  readonly name: TextColumn;
}

/** The levels of a node's path, root first ([] for -1). */
export function categoryPath(tree: CategoryTree, node: number): string[] {
  const out: string[] = [];
  for (let n = node; n >= 0; n = tree.parent[n]) out.push(tree.name.get(n) ?? '');
  return out.reverse();
}

/** How many leading levels two nodes' paths share (0 when either is -1). */
export function sharedLevels(tree: Pick<CategoryTree, 'parent' | 'depth'>, a: number, b: number): number {
  if (a < 0 || b < 0) return 0;
  const { parent, depth } = tree;
  while (depth[a] > depth[b]) a = parent[a];
  while (depth[b] > depth[a]) b = parent[b];
  while (a !== b) {
    a = parent[a];
    b = parent[b];
  }
  return a < 0 ? 0 : depth[a];
}

/** Builds the tree while paths arrive. */
export class CategoryTreeBuilder {
  readonly parent: number[] = [];
  readonly depth: number[] = [];
  readonly name: string[] = [];
  private readonly index = new Map<string, number>();

  /** The node of a path (levels root first), created if new; -1 for an empty path. */
  node(levels: readonly string[]): number {
    let node = -1;
    for (const level of levels) {
      const key = `${node}\u0000${level}`;
      let next = this.index.get(key);
      if (next === undefined) {
        next = this.name.length;
        if (node >= 0 && this.depth[node] >= 255) break; // depth is stored in a byte; real paths have < 10 levels
        this.index.set(key, next);
        this.parent.push(node);
        this.depth.push(node < 0 ? 1 : this.depth[node] + 1);
        this.name.push(level);
      }
      node = next;
    }
    return node;
  }
}
