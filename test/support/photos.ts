import { access } from 'node:fs/promises';
import sharp from 'sharp';

/** A real photograph (astronaut Eileen Collins, public domain) shipped by Debian's python3-skimage; scripts/test.sh installs it. */
export const ASTRONAUT = '/usr/lib/python3/dist-packages/skimage/data/astronaut.png';

/** Fails with the fix when the photograph is missing, rather than with ENOENT deep in a test. */
export async function requireAstronaut(): Promise<string> {
  await access(ASTRONAUT).catch(() => {
    throw new Error(`${ASTRONAUT} is missing: apt-get install python3-skimage (scripts/test.sh does)`);
  });
  return ASTRONAUT;
}

/** `n` copies of the astronaut, 256 px each, side by side on grey: a photo with n faces. */
export async function groupPhoto(out: string, n: number): Promise<string> {
  const tile = await sharp(ASTRONAUT).resize(256, 256).png().toBuffer();
  await sharp({ create: { width: 256 * n + 64 * (n - 1), height: 320, channels: 3, background: '#7f7f7f' } })
    .composite(Array.from({ length: n }, (_, i) => ({ input: tile, left: i * 320, top: 32 })))
    .jpeg()
    .toFile(out);
  return out;
}
