// The optional dependencies: @huggingface/transformers (sentence encoders for semantic similarity and
// critique-emb; LUMEN tokenizers) and onnxruntime-node (LUMEN's decoder body). They are optional peer
// dependencies, so `npm install regen-bench` does not bring them (onnxruntime-node alone is about
// 290 MB, and on Linux x64 its install step downloads CUDA libraries from outside the npm registry).
// The features that need them load them here, on first use, and say how to add them when missing.

export type OptionalPackage = '@huggingface/transformers' | 'onnxruntime-node';

/** The version range regen-bench is built and tested with (package.json peerDependencies). */
export const OPTIONAL_VERSIONS: Record<OptionalPackage, string> = {
  '@huggingface/transformers': '4.3.1',
  'onnxruntime-node': '1.30.0',
};

/** A feature needs an optional package that is not installed; the message says how to add it. */
export class MissingDependencyError extends Error {
  readonly code = 'REGEN_MISSING_DEPENDENCY';
  constructor(
    readonly packageName: OptionalPackage,
    feature: string,
  ) {
    super(`${feature} needs the optional package ${packageName}, which is not installed. ${installAdvice(packageName)}`);
    this.name = 'MissingDependencyError';
  }
}

/** How to add an optional package to the project that uses regen-bench, without CUDA downloads. */
export function installAdvice(name: OptionalPackage): string {
  // transformers brings onnxruntime-node, so one command serves both features.
  const spec = name === 'onnxruntime-node' ? `@huggingface/transformers@${OPTIONAL_VERSIONS['@huggingface/transformers']} onnxruntime-node@${OPTIONAL_VERSIONS['onnxruntime-node']}` : `${name}@${OPTIONAL_VERSIONS[name]}`;
  return (
    `Fix: in your project, \`npm pkg set allowScripts.onnxruntime-node=false --json\` then \`npm install ${spec}\` ` +
    '(the first command stops onnxruntime-node\'s install step from downloading CUDA libraries on Linux x64, which the CPU does not need; ' +
    'npm older than 11.16 ignores it: run `ONNXRUNTIME_NODE_INSTALL=skip npm install ...` there). ' +
    'A checkout of regen-bench has both after `npm ci`.'
  );
}

/** Whether an import failed because the package itself is absent (not because it failed to load). */
function isNotInstalled(e: unknown, name: string): boolean {
  const err = e as NodeJS.ErrnoException;
  return (err?.code === 'ERR_MODULE_NOT_FOUND' || err?.code === 'MODULE_NOT_FOUND') && String(err.message).includes(`'${name}'`);
}

/** Imports an optional package, or throws MissingDependencyError naming the feature and the fix. */
export async function importOptional<T>(name: OptionalPackage, feature: string): Promise<T> {
  try {
    return (await import(name)) as T;
  } catch (e) {
    if (isNotInstalled(e, name)) throw new MissingDependencyError(name, feature);
    throw e;
  }
}
