import type { z } from 'zod';
import { cnn, type CnnParams } from './cnn.js';
import { adaptLayers } from './common.js';
import { ModelError } from './errors.js';
import { mobilenetv2, type MobileNetV2Params } from './mobilenetv2.js';
import type { MODEL_PARAMS, ModelName } from '../params.js';
import type { BuildOptions, BuiltModel, ModelInput, ModelVariant } from './types.js';

/**
 * Every registered variant, by the name a TrialSpec's `model` uses. Its names and params schemas are
 * `MODEL_PARAMS`' (the tfjs-free entry `@fersweep/models/params` the coordinator validates sweeps with):
 * the type below refuses a variant that is missing there or whose schema differs.
 */
export const VARIANTS = { cnn, mobilenetv2 } as const satisfies {
  [K in ModelName]: ModelVariant<z.infer<(typeof MODEL_PARAMS)[K]>>;
};

/** A registered variant's name. */
export type VariantName = keyof typeof VARIANTS;

/** Parsed params per variant name. */
export interface VariantParams {
  cnn: CnnParams;
  mobilenetv2: MobileNetV2Params;
}

/** The registered names, sorted. */
export const VARIANT_NAMES = (Object.keys(VARIANTS) as VariantName[]).sort();

function isVariantName(name: string): name is VariantName {
  return Object.hasOwn(VARIANTS, name);
}

/**
 * The variant registered as `name`. Throws ModelError 'UnknownModel' naming the known ones otherwise.
 */
export function getVariant<N extends VariantName>(name: N): ModelVariant<VariantParams[N]>;
export function getVariant(name: string): ModelVariant<unknown>;
export function getVariant(name: string): ModelVariant<unknown> {
  if (!isVariantName(name)) {
    throw new ModelError('UnknownModel', `unknown model '${name}': use one of ${VARIANT_NAMES.join(', ')}`, {
      model: name,
      known: VARIANT_NAMES,
      field: 'model',
    });
  }
  return VARIANTS[name] as ModelVariant<unknown>;
}

/** `params.a.b: message` lines for zod issues (unknown keys get one line each, with the known ones). */
export function formatParamsIssues(issues: readonly z.core.$ZodIssue[], known: readonly string[] = []): string[] {
  return issues.flatMap((issue) => {
    const at = ['params', ...issue.path.map(String)].join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map(
        (k) => `${at}.${k}: unknown parameter${known.length > 0 ? ` (known: ${known.join(', ')})` : ''}`,
      );
    }
    return [`${at}: ${issue.message}`];
  });
}

/** Top-level keys of an object schema (for messages); empty when the schema is not a plain object. */
function knownKeys(schema: z.ZodType): string[] {
  const shape = (schema as unknown as { shape?: Record<string, unknown> }).shape;
  return shape === undefined ? [] : Object.keys(shape);
}

/**
 * Validates raw params (a TrialSpec's `params`) against the variant's schema and applies its defaults.
 * Throws ModelError 'UnknownModel', or 'InvalidParams' whose message names each bad field
 * (`params.alpha: must be one of 0.35, 0.5, 0.75, 1, 1.3, 1.4`) and whose `where.field` is the first.
 */
export function parseParams<N extends VariantName>(name: N, raw: unknown): VariantParams[N];
export function parseParams(name: string, raw: unknown): unknown;
export function parseParams(name: string, raw: unknown): unknown {
  const variant = getVariant(name);
  const result = variant.params.safeParse(raw ?? {});
  if (result.success) return result.data;
  const lines = formatParamsIssues(result.error.issues, knownKeys(variant.params));
  const first = lines[0] ?? 'params: invalid';
  throw new ModelError('InvalidParams', `${name}: ${lines.join('; ')}`, {
    model: name,
    field: first.slice(0, first.indexOf(':')),
  });
}

/**
 * Parses `rawParams` for the variant `name` and builds its compiled model for `input`: what a trainer does with
 * a TrialSpec's `model` and `params` and the dataset manifest's image shape.
 */
export async function buildModel(
  name: string,
  rawParams: unknown,
  input: ModelInput,
  options?: BuildOptions,
): Promise<BuiltModel> {
  const variant = getVariant(name);
  const built = await variant.build(parseParams(name, rawParams), input, options);
  adaptLayers(built.model);
  return built;
}
