/**
 * The search's random streams: keyed by a tuple of integers (seed, k, stream, group), so suggestion k
 * can be recomputed on its own, in any order, after a restart. The one implementation is
 * `@fersweep/random` (pure-rand only), shared with the dataset pipeline, so this package stays free
 * of the pipeline's dependencies and the sweep contract can build on it.
 */
export { Random as KeyedRandom } from '@fersweep/random';
