/** Stable codes for model failures; a trainer maps all but 'CorruptArtifacts' to a permanent exit. */
export type ModelErrorCode =
  | 'UnknownModel' // no variant of that name is registered
  | 'InvalidParams' // params fail the variant's schema (or a rule between fields)
  | 'IncompatibleInput' // the dataset's image shape or class count cannot feed this variant
  | 'IncompatiblePretrained' // pretrained weights that do not fit the base (a keras file: any layer; tfjs: half)
  | 'PretrainedUnavailable' // pretrained weights neither in the store nor downloadable (offline)
  | 'InvalidArtifacts' // a model.json that is not a tfjs LayersModel, or weights that do not fit it
  | 'CorruptArtifacts' // a weights file whose size or sha256 differs from what model.json recorded
  | 'UnsupportedExport' // a layer (or a use of one) that the chosen export format cannot express
  | 'OutOfMemory'; // a training step needed more memory than the backend can address (wasm32: 4 GiB)

/** A model failure that says what was wrong, where (the params field, the store key) and what to do. */
export class ModelError extends Error {
  override readonly name = 'ModelError';
  constructor(
    readonly code: ModelErrorCode,
    message: string,
    readonly where: {
      /** Dotted path of the offending field, e.g. `params.alpha`. */
      field?: string;
      /** The model name involved. */
      model?: string;
      /** Known model names ('UnknownModel'). */
      known?: readonly string[];
      /** Store URL or key of the artifact at fault. */
      artifact?: string;
    } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
