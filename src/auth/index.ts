// The public face of src/auth for the broker, `mqx passwd`, `mqx acl` and the library API.
// Re-exports only; every function here is pure except the file loaders in load.ts.

export * from './passwords.js';
export * from './password-file.js';
export * from './acl-file.js';
export * from './acl.js';
export * from './acl-lint.js';
export * from './acl-edit.js';
export { filterProblem, topicMatches, intersectFilters, filterCovered } from './topic-filter.js';
export { AuthFileError, readTextFile, writeFileAtomic } from './file-io.js';
export { loadPasswordFile, loadAclFile } from './load.js';
