/** The seven FER2013 emotions, in label order (label i is EMOTIONS[i]). */
export const EMOTIONS = ['angry', 'disgust', 'fear', 'happy', 'sad', 'surprise', 'neutral'] as const;
export type Emotion = (typeof EMOTIONS)[number];
export const NUM_CLASSES = EMOTIONS.length;

/** FER2013's image geometry: 48×48 grayscale. */
export const FER_IMAGE = { height: 48, width: 48, channels: 1 } as const;
export const FER_PIXELS = FER_IMAGE.height * FER_IMAGE.width;

/**
 * Class frequencies of FER2013's 35,887 images (Training + PublicTest + PrivateTest):
 * 4953 angry, 547 disgust, 5121 fear, 8989 happy, 6077 sad, 4002 surprise, 6198 neutral.
 */
export const FER2013_CLASS_COUNTS = [4953, 547, 5121, 8989, 6077, 4002, 6198] as const;

export function isLabel(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n < NUM_CLASSES;
}

export function emotionIndex(name: string): number {
  return (EMOTIONS as readonly string[]).indexOf(name.toLowerCase());
}
