import sharp, { type OverlayOptions } from 'sharp';
import { keys, type DatasetManifest, type SplitName } from '@fersweep/contracts';
import { renderChartPng } from '@fersweep/report';
import type { ObjectStore } from '@fersweep/storage';

// ECharts → PNG is the report's (packages/report); re-exported for this package's existing users.
export { renderChartPng };

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#b07aa1'];

/** Grouped bar chart: images per emotion in each split, with counts on the bars. */
export function classDistributionPng(manifest: DatasetManifest): Promise<Buffer> {
  const splits = (Object.keys(manifest.splits) as SplitName[]).filter((s) => manifest.splits[s]?.count);
  return renderChartPng(
    {
      title: { text: `${manifest.name}: images per emotion`, left: 'center', textStyle: { fontSize: 16 } },
      legend: { bottom: 0 },
      grid: { left: 60, right: 20, top: 50, bottom: 60 },
      color: PALETTE,
      tooltip: {},
      xAxis: { type: 'category', data: manifest.classes },
      yAxis: { type: 'value', name: 'images' },
      series: splits.map((s) => ({
        name: `${s} (${manifest.splits[s]!.count})`,
        type: 'bar',
        data: manifest.splits[s]!.classCounts,
        label: { show: true, position: 'top', fontSize: 9 },
      })),
    },
    900,
    450,
  );
}

/** One row per emotion: its name, then up to N train images, upscaled 3× for people to see. */
export async function sampleGridPng(
  classes: readonly string[],
  samples: Uint8Array[][],
  size = 48,
  scale = 3,
): Promise<Buffer> {
  const cell = size * scale;
  const gap = 4;
  const labelWidth = 110;
  const perRow = Math.max(1, ...samples.map((s) => s.length));
  const width = labelWidth + perRow * (cell + gap);
  const height = classes.length * (cell + gap) + gap;
  const tiles: OverlayOptions[] = [];
  for (let c = 0; c < classes.length; c++) {
    for (let i = 0; i < (samples[c]?.length ?? 0); i++) {
      const img = await sharp(Buffer.from(samples[c]![i]!), { raw: { width: size, height: size, channels: 1 } })
        .resize(cell, cell, { kernel: 'nearest' })
        .png()
        .toBuffer();
      tiles.push({ input: img, left: labelWidth + i * (cell + gap), top: gap + c * (cell + gap) });
    }
  }
  const labels = classes
    .map(
      (name, c) =>
        `<text x="8" y="${gap + c * (cell + gap) + cell / 2 + 6}" font-family="DejaVu Sans, sans-serif" font-size="17">${name}</text>`,
    )
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${labelWidth}" height="${height}">${labels}</svg>`;
  tiles.push({ input: Buffer.from(svg), left: 0, top: 0 });
  return sharp({ create: { width, height, channels: 3, background: '#ffffff' } })
    .composite(tiles)
    .png()
    .toBuffer();
}

/** Writes the dataset's exploration figures next to its manifest. */
export async function writeExploration(
  store: ObjectStore,
  manifest: DatasetManifest,
  samples: Uint8Array[][],
): Promise<void> {
  await store.put(keys.classDistributionPng, await classDistributionPng(manifest), { contentType: 'image/png' });
  await store.put(keys.sampleGridPng, await sampleGridPng(manifest.classes, samples, manifest.image.width), {
    contentType: 'image/png',
  });
}
