import { openStore as defaultOpenStore } from '@fersweep/storage';
import type { Layer } from '../variants/common.js';
import { loadPretrainedWeights } from '../variants/pretrained.js';
import type { BuildOptions, PretrainedReport } from '../variants/types.js';
import { loadKerasMobileNetV2Weights } from './keras-mobilenetv2.js';
import { imagenetWeightsFor, isKerasWeightsRef, resolveKerasWeights } from './keras-source.js';

/**
 * Loads a MobileNetV2 base's pretrained weights from whatever `params.pretrained` names — `imagenet`, a keras
 * `.h5` file, or a tfjs LayersModel — and says what it did, one note per line.
 */
export async function loadMobileNetV2Pretrained(
  base: readonly Layer[],
  params: { alpha: number; inputSize: number; pretrained?: string | undefined },
  options: BuildOptions,
): Promise<{ report: PretrainedReport; notes: string[] }> {
  const pretrained = params.pretrained as string;
  const openStore = options.openStore ?? defaultOpenStore;
  const withWeights = base.filter((l) => l.weights.length > 0).length;
  if (!isKerasWeightsRef(pretrained)) {
    const report = await loadPretrainedWeights(base, pretrained, openStore);
    return {
      report,
      notes: [
        `mobilenetv2: pretrained weights from ${pretrained} loaded into ${report.loaded.length} of ${withWeights} base layers with weights`,
      ],
    };
  }
  const resolved = await resolveKerasWeights(pretrained, params, {
    openStore,
    artifactRoot: options.artifactRoot,
    baseUrl: options.kerasWeightsUrl,
  });
  const report = loadKerasMobileNetV2Weights(base, resolved.file, params.alpha, resolved.origin);
  report.sha256 = resolved.sha256;
  const notes = [
    `mobilenetv2: ${pretrained === 'imagenet' ? 'ImageNet weights' : 'keras weights'} ${resolved.origin} ` +
      `(sha256 ${resolved.sha256.slice(0, 12)}…) loaded into ${report.loaded.length} of ${withWeights} base layers with weights`,
  ];
  if (pretrained === 'imagenet' && imagenetWeightsFor(params.alpha, params.inputSize).size !== params.inputSize) {
    notes.push(
      `mobilenetv2: keras publishes no ${params.inputSize} px weights; the base is fully convolutional, so the ` +
        `${imagenetWeightsFor(params.alpha, params.inputSize).size} px ones load as they are (inputSize 96 or 128 matches their training resolution)`,
    );
  }
  return { report, notes };
}
