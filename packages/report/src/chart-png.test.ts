import { describe, expect, it } from '@jest/globals';
import { existsSync } from 'node:fs';
import sharp from 'sharp';
import { renderChartPng } from './chart-png.js';
import { echartsBundle, echartsBundlePath } from './html.js';

describe('the report package on its own', () => {
  it('renders an ECharts option to a PNG of the asked size', async () => {
    const png = await renderChartPng(
      { xAxis: { type: 'category', data: ['a', 'b'] }, yAxis: {}, series: [{ type: 'bar', data: [1, 2] }] },
      320,
      200,
    );
    expect(await sharp(png).metadata()).toMatchObject({ format: 'png', width: 320, height: 200 });
  });

  it("finds ECharts' browser bundle in its own dependencies", () => {
    expect(existsSync(echartsBundlePath())).toBe(true);
    expect(echartsBundle()).toContain('echarts');
  });
});
